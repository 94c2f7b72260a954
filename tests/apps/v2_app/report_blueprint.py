"""A Durable Functions blueprint, registered by function_app.py with app.register_functions(bp)."""
import azure.durable_functions as df

bp = df.Blueprint()


@bp.orchestration_trigger(context_name="context")
def nightly_report(context: df.DurableOrchestrationContext):
    report = yield context.call_activity("build_report", context.get_input())
    return report


@bp.activity_trigger(input_name="day")
def build_report(day: str) -> dict:
    return {"day": day, "status": "ready"}
