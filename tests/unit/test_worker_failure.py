"""An activity's exception as the orchestration sees it: the worker's, host's and extension's steps.

The shape is the one a production TaskFailed shows (extension 3.12, Python worker;
docs/protocol.md, "Activity failures"): two spaces after "failed:", a compact
Newtonsoft-serialized System.Exception whose Message keeps the leading space, and the
RpcException with the worker's message and stack inside it.
"""
from __future__ import annotations

import json

import azure.durable_functions as df

from durable_testkit import InMemoryRuntime
from durable_testkit._worker_failure import activity_failure

_OUTER_KEYS = ["$type", "ClassName", "Message", "Data", "InnerException", "HelpURL",
               "StackTraceString", "RemoteStackTraceString", "RemoteStackIndex",
               "ExceptionMethod", "HResult", "Source", "WatsonBuckets"]
_RPC_KEYS = ["$type", "IsUserException", "RemoteStackTrace", "RemoteMessage", "RemoteTypeName",
             "Message", "Data", "InnerException", "HelpLink", "Source", "HResult", "StackTrace"]


def charge(amount: int) -> None:
    raise ValueError(f"card declined for {amount}")


def test_reason_and_details_have_the_hosts_shape() -> None:
    try:
        charge(12)
    except ValueError as exc:
        reason, details = activity_failure("Charge", exc)
    assert reason == "Activity function 'Charge' failed:  ValueError: card declined for 12"
    assert "\n" not in details and '","' in details  # one line, Newtonsoft's compact form
    outer = json.loads(details)
    assert list(outer) == _OUTER_KEYS
    assert outer["$type"] == "System.Exception, System.Private.CoreLib"
    assert outer["Message"] == " ValueError: card declined for 12"
    assert outer["HResult"] == -2146233088
    rpc = outer["InnerException"]
    assert list(rpc) == _RPC_KEYS
    assert rpc["$type"].startswith("Microsoft.Azure.WebJobs.Script.Workers.Rpc.RpcException, ")
    assert rpc["RemoteMessage"] == "ValueError: card declined for 12"
    stack = rpc["RemoteStackTrace"]
    assert stack.startswith("Traceback (most recent call last):\n")
    assert "in charge\n" in stack and stack.endswith("ValueError: card declined for 12\n")
    assert rpc["Message"] == ("Result: Failure\nType: \nException: ValueError: card declined "
                              f"for 12\nStack: {stack}")


def test_a_message_holding_the_stack_label_is_cut_there_as_the_extension_cuts_it() -> None:
    reason, details = activity_failure("a", RuntimeError("first\nStack: not a stack"))
    assert reason == "Activity function 'a' failed:  RuntimeError: first"
    assert json.loads(details)["InnerException"]["RemoteMessage"] == (
        "RuntimeError: first\nStack: not a stack")


def test_text_is_taken_as_the_workers_message_and_non_ascii_stays_as_it_is() -> None:
    reason, details = activity_failure("a", "KeyError: 'clé'")
    assert reason == "Activity function 'a' failed:  KeyError: 'clé'"
    assert "clé" in details
    assert json.loads(details)["InnerException"]["RemoteStackTrace"] == ""


def test_the_orchestrator_sees_reason_and_details_as_the_sdk_joins_them() -> None:
    def catches(context: df.DurableOrchestrationContext):
        try:
            yield context.call_activity("charge", 5)
        except Exception as e:
            return str(e)

    rt = InMemoryRuntime()
    rt.register_orchestrator("catches", catches)
    rt.register_activity("charge", charge)
    result = rt.run("catches")
    reason, details = result.output.split(" \n ", 1)
    assert reason == "Activity function 'charge' failed:  ValueError: card declined for 5"
    assert json.loads(details)["Message"] == " ValueError: card declined for 5"
    failed = [e for e in result.history.to_wire() if e["EventType"] == 6]  # TaskFailed
    assert failed[0]["Reason"] == reason and failed[0]["Details"] == details
