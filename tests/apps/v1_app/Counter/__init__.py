import azure.durable_functions as df


def entity_function(context: df.DurableEntityContext):
    value = context.get_state(lambda: 0)
    operation = context.operation_name
    if operation == "add":
        value += context.get_input()
    elif operation == "reset":
        value = 0
    elif operation == "get":
        context.set_result(value)
    context.set_state(value)


main = df.Entity.create(entity_function)
