import azure.durable_functions as df


def orchestrator_function(context: df.DurableOrchestrationContext):
    results = []
    for city in ("Tokyo", "Seattle", "London"):
        results.append((yield context.call_activity("SayHello", city)))
    return results


main = df.Orchestrator.create(orchestrator_function)
