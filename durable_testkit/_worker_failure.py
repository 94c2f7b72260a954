"""What an activity's exception becomes on its way from the Python worker to the orchestration.

Users parse this text (Azure/azure-functions-durable-extension#2990: the details'
``Message``, split at the first ``:``), so it is built the way the real parts build
it, step by step, rather than written out as a format:

1. the Python worker reports ``f"{type(exc).__name__}: {exc}"`` and the traceback;
2. the Functions host wraps them in an ``RpcException`` whose message is
   ``"Result: Failure\\nType: \\nException: <message>\\nStack: <stack>"``;
3. the extension's ``OutOfProcExceptionHelpers.TryGetExceptionWithFriendlyMessage``
   takes the text between ``"\\nException:"`` and ``"\\nStack:"`` (so it keeps the
   space after the colon) into a new ``System.Exception``;
4. ``TaskActivityShim`` fails the task with ``"Activity function '<name>' failed:
   <that message>"`` (two spaces after "failed:") and, as details, that exception
   serialized by Newtonsoft.Json (compact, ``$type`` names, the RpcException inside).

docs/protocol.md, "Activity failures", lists the sources, including a production log.
"""
from __future__ import annotations

import json
import os
import traceback
from typing import Any, Dict, Optional, Tuple, Union

__all__ = ["worker_message", "activity_failure", "exception_details"]

_MESSAGE_LABEL = "\nException:"
_STACK_LABEL = "\nStack:"
_OUT_OF_PROC_DATA_LABEL = "\n\n$OutOfProcData$:"
_HRESULT_EXCEPTION = -2146233088  # COR_E_EXCEPTION, what System.Exception carries


def worker_message(exc: BaseException) -> str:
    """The message the Python worker sends the host for an exception."""
    try:
        return f"{type(exc).__name__}: {exc}"
    except Exception:  # a __str__ that raises: the worker's own fallback text
        return "Unhandled exception in function. Could not serialize original exception message."


#: This package's folder: its frames (the guard, the executor, a mock's call) are the
#: host's, where Azure's are the worker's; they are left out of the stack the worker sends.
_OURS = os.path.dirname(os.path.abspath(__file__)) + os.sep
_HEADER = "Traceback (most recent call last):\n"


def _without_our_frames(summary: Optional[traceback.TracebackException]) -> None:
    seen = set()
    while summary is not None and id(summary) not in seen:
        seen.add(id(summary))
        summary.stack = traceback.StackSummary.from_list(
            [frame for frame in summary.stack if not frame.filename.startswith(_OURS)])
        summary = summary.__cause__ or summary.__context__


def _worker_stack(exc: BaseException) -> str:
    """The traceback the worker reports: the user's frames, the same on every run.

    The host's own frames differ with the path a call takes (the guard's worker
    thread or not, a fault's interceptor), which would make two runs of one plan
    record different TaskFailed details.
    """
    try:
        summary = traceback.TracebackException(type(exc), exc, exc.__traceback__)
        _without_our_frames(summary)
        text = "".join(summary.format())
        # The worker's own frames are always there in Azure, so its stack always has the
        # header, even for an exception raised by a mock (whose frames are all ours).
        return text if text.startswith(_HEADER) else _HEADER + text
    except Exception:  # pragma: no cover - the worker sends no stack then
        return ""


def _rpc_message(message: str, stack: str) -> str:
    return f"Result: Failure\nType: \nException: {message}\nStack: {stack}"


def _friendly_message(rpc_message: str) -> str:
    """The extension's cut of an RpcException's message (first labels win, as there)."""
    start = rpc_message.find(_MESSAGE_LABEL) + len(_MESSAGE_LABEL)
    end = rpc_message.find(_STACK_LABEL)
    message = rpc_message[start:end]
    data = message.find(_OUT_OF_PROC_DATA_LABEL)
    return message if data < 0 else message[:data]


def _rpc_exception(message: str, stack: str, rpc_message: str) -> Dict[str, Any]:
    return {"$type": "Microsoft.Azure.WebJobs.Script.Workers.Rpc.RpcException, "
                     "Microsoft.Azure.WebJobs.Script",
            "IsUserException": False, "RemoteStackTrace": stack, "RemoteMessage": message,
            "RemoteTypeName": None, "Message": rpc_message,
            "Data": {"$type": "System.Collections.ListDictionaryInternal, System.Private.CoreLib"},
            "InnerException": None, "HelpLink": None, "Source": "System.Private.CoreLib",
            "HResult": _HRESULT_EXCEPTION,
            "StackTrace": None}  # the host's own .NET frames: nothing a test can know


def exception_details(message: str, inner: Any = None) -> str:
    """A ``System.Exception`` as DTFx's ``Utils.SerializeCause`` writes it (Newtonsoft, compact)."""
    return json.dumps({"$type": "System.Exception, System.Private.CoreLib",
                       "ClassName": "System.Exception", "Message": message, "Data": None,
                       "InnerException": inner, "HelpURL": None, "StackTraceString": None,
                       "RemoteStackTraceString": None, "RemoteStackIndex": 0,
                       "ExceptionMethod": None, "HResult": _HRESULT_EXCEPTION, "Source": None,
                       "WatsonBuckets": None},
                      separators=(",", ":"), ensure_ascii=False)


def activity_failure(name: str, error: Union[BaseException, str]) -> Tuple[str, str]:
    """(Reason, Details) of the TaskFailed event for activity ``name`` failing with ``error``.

    ``error`` is the exception the function raised, or the worker's message for it
    as text (``"ValueError: card declined"``; the scenario driver's and the history
    builder's failures), which then has no stack.
    """
    if isinstance(error, BaseException):
        message, stack = worker_message(error), _worker_stack(error)
    else:
        message, stack = error, ""
    rpc_message = _rpc_message(message, stack)
    friendly = _friendly_message(rpc_message)
    return (f"Activity function '{name}' failed: {friendly}",
            exception_details(friendly, _rpc_exception(message, stack, rpc_message)))
