"""The phone-verification pattern: an SMS through an output binding, then a 180 s race."""
from datetime import timedelta

import azure.durable_functions as df


def orchestrator_function(context: df.DurableOrchestrationContext):
    code = yield context.call_activity("SendChallenge", context.get_input())
    timeout = context.create_timer(context.current_utc_datetime + timedelta(seconds=180))
    answer = context.wait_for_external_event("Answer")
    winner = yield context.task_any([answer, timeout])
    if winner == answer:
        timeout.cancel()
        return answer.result == code
    return "timed out"


main = df.Orchestrator.create(orchestrator_function)
