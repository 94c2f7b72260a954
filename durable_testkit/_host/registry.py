"""Which functions a runtime knows: orchestrators, activities, entities and mocks.

Names are matched case-insensitively, as the Functions host does. The one text
for "that function does not exist" (the extension's, with a "Did you mean")
is built here, for every caller.
"""
from __future__ import annotations

from datetime import timedelta
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Union

from .. import _sdk
from ..errors import InvalidOperationError, UnknownFunctionError, did_you_mean

# pytest hides this module's frames in failure reports (--full-trace shows them):
# what the user needs is the line of their own code.
__tracebackhide__ = True

__all__ = ["Registry", "ActivityRegistration", "OrchestratorRegistration", "Mock",
           "missing_function_text", "Duration"]

#: A fixed duration, or a function of the decoded input giving one.
Duration = Union[timedelta, Callable[[Any], timedelta], None]


class Mock:
    """``mock_activity``'s behaviour: a value, a callable, an exception or a sequence."""

    _NOTHING = object()

    def __init__(self, name: str, return_value: Any, side_effect: Any) -> None:
        self.name = name
        self.calls = 0
        self.return_value = return_value
        self.callable: Optional[Callable[[Any], Any]] = None
        self.raise_: Optional[BaseException] = None
        self.sequence: Optional[Iterator[Any]] = None
        if side_effect is None:
            pass
        elif isinstance(side_effect, BaseException) or (
                isinstance(side_effect, type) and issubclass(side_effect, BaseException)):
            self.raise_ = side_effect() if isinstance(side_effect, type) else side_effect
        elif callable(side_effect):
            self.callable = side_effect
        else:
            try:
                self.sequence = iter(side_effect)
            except TypeError:
                raise TypeError(
                    f"mock_activity('{name}', side_effect=...) takes a callable, an exception "
                    f"or an iterable of values/exceptions, not {type(side_effect).__name__}"
                ) from None

    def __call__(self, value: Any) -> Any:
        self.calls += 1
        if self.raise_ is not None:
            # One instance raised on every call would grow its traceback by a frame set per
            # raise, and every failure text would repeat the earlier ones: start it afresh.
            raise self.raise_.with_traceback(None)
        if self.callable is not None:
            return self.callable(value)
        if self.sequence is not None:
            item = next(self.sequence, self._NOTHING)
            if item is self._NOTHING:
                raise InvalidOperationError(
                    f"mock_activity('{self.name}'): side_effect ran out after "
                    f"{self.calls - 1} call(s); give it more values or use a callable")
            if isinstance(item, BaseException):
                raise item.with_traceback(None)
            if isinstance(item, type) and issubclass(item, BaseException):
                raise item
            return item
        return self.return_value


class ActivityRegistration:
    """An activity: the function the worker calls and how it takes its input."""

    __slots__ = ("name", "fn", "param", "mock", "duration", "outputs")

    def __init__(self, name: str, fn: Callable[..., Any], param: Optional[str],
                 mock: Optional[Mock] = None, duration: Duration = None,
                 outputs: tuple[str, ...] = ()) -> None:
        self.name = name
        self.fn = fn
        self.param = param  # the trigger's parameter name, when called by keyword
        self.mock = mock
        self.duration = duration
        self.outputs = outputs  # names of output bindings the function takes


class OrchestratorRegistration:
    __slots__ = ("name", "handle")

    def __init__(self, name: str, handle: Callable[[str], str]) -> None:
        self.name = name
        self.handle = handle


class Registry:
    """The runtime's functions by lower-cased name."""

    def __init__(self) -> None:
        self.orchestrators: Dict[str, OrchestratorRegistration] = {}
        self.activities: Dict[str, ActivityRegistration] = {}
        self.entities: Dict[str, Any] = {}  # a FunctionInfo, a function or a handle
        # lower-cased entity name -> names of its output bindings (V1 function.json "out")
        self.entity_outputs: Dict[str, tuple[str, ...]] = {}
        self.mocks: Dict[str, Mock] = {}
        self.app: Any = None  # the discovered AppFunctions, when loaded from an app

    # -- registration --------------------------------------------------------------
    def add_orchestrator(self, name: str, fn: Any) -> None:
        self.orchestrators[name.lower()] = OrchestratorRegistration(
            name, _sdk.orchestrator_handle(name, fn))

    def load_app(self, functions: Any) -> None:
        """Register every function of a discovered app (``app.discover_app``)."""
        self.app = functions
        for info in functions.functions.values():
            if info.kind == "orchestrator":
                self.add_orchestrator_handle(info.name, info.function)
            elif info.kind == "activity":
                self.add_activity(info.name, info.function, info.trigger_param,
                                  outputs=_output_names(info))
            elif info.kind == "entity":
                self.add_entity(info.name, info, outputs=_output_names(info))

    def add_orchestrator_handle(self, name: str, handle: Callable[[str], str]) -> None:
        """Register a handle the app discovery already built (an async def is refused here,
        at load time, with register_orchestrator's text, not at its first episode)."""
        self.orchestrators[name.lower()] = OrchestratorRegistration(
            name, _sdk.orchestrator_handle(name, handle))

    def add_activity(self, name: str, fn: Any, param: Optional[str] = None,
                     duration: Duration = None, outputs: tuple[str, ...] = ()) -> None:
        self.activities[name.lower()] = ActivityRegistration(
            name, _sdk.unwrap_function(fn), param, duration=duration, outputs=outputs)

    def add_mock(self, name: str, return_value: Any, side_effect: Any,
                 duration: Duration = None) -> Mock:
        mock = Mock(name, return_value, side_effect)
        self.mocks[name.lower()] = mock
        self.activities[name.lower()] = ActivityRegistration(name, mock, None, mock=mock,
                                                             duration=duration)
        return mock

    def add_entity(self, name: str, fn: Any, outputs: tuple[str, ...] = ()) -> None:
        self.entities[name.lower()] = fn
        self.entity_outputs[name.lower()] = outputs

    # -- lookups -----------------------------------------------------------------------
    def orchestrator(self, name: Any) -> OrchestratorRegistration:
        found = self.orchestrators.get(name.lower()) if isinstance(name, str) else None
        if found is None:
            raise UnknownFunctionError(str(name), "orchestrator function",
                                       self.orchestrator_names())
        return found

    def orchestrator_names(self) -> List[str]:
        return [o.name for o in self.orchestrators.values()]

    def activity_names(self) -> List[str]:
        return [a.name for a in self.activities.values()]

    def entity_names(self) -> List[str]:
        return [getattr(v, "name", None) or k for k, v in self.entities.items()]

    def missing_entity_text(self, name: Optional[str]) -> str:
        """The extension's text for a call or signal to an entity the app does not have."""
        return missing_function_text(name, "entity", self.entity_names(),
                                     orchestrators=self.orchestrator_names())

    def function_names(self) -> List[str]:
        return self.orchestrator_names() + self.activity_names() + self.entity_names()

    def entity_handle(self, name: str) -> Optional[tuple[str, Callable[[str], str]]]:
        """(display name, SDK entity handle) of a registered entity, or None."""
        registered = self.entities.get(name)
        if registered is None:
            return None
        handle = getattr(registered, "function", None)
        if handle is not None and hasattr(registered, "trigger_param"):  # a FunctionInfo
            return registered.name, handle
        return name, _sdk.entity_handle(name, registered)

    @property
    def unused_mocks(self) -> List[str]:
        return [m.name for m in self.mocks.values() if m.calls == 0]


def missing_function_text(name: Optional[str], kind: str, known: Sequence[str],
                          other: Sequence[str] = (), *,
                          orchestrators: Optional[Sequence[str]] = None) -> str:
    """The extension's "doesn't exist" text, plus a "Did you mean" where a name is close.

    ext: DurableTaskExtension.GetInvalid{Activity,Orchestrator,Entity}FunctionMessage.
    The entity one tests whether any *orchestrator* is known before it lists the
    entities (its own quirk), so ``orchestrators`` decides it; omitted, the entities do.
    """
    article = "an" if kind[0] in "aeiou" else "a"
    msg = (f"The function '{name}' doesn't exist, is disabled, or is not {article} {kind} "
           "function. Additional info: ")
    any_known = bool(orchestrators if kind == "entity" and orchestrators is not None else known)
    if not any_known:
        msg += f"No {kind} functions are currently registered!"
    else:
        msg += f"The following are the known {kind} functions: '" + "', '".join(sorted(known)) \
            + "'."
    hint = did_you_mean(name, known)
    if hint:
        msg += hint
    elif name and name.lower() in {o.lower() for o in other}:
        msg += f" '{name}' is registered, but not as {article} {kind} function."
    return msg


def _output_names(info: Any) -> tuple[str, ...]:
    """The function's named output bindings (``$return`` is the return value, not a parameter)."""
    return tuple(str(b["name"]) for b in info.bindings
                 if str(b.get("direction", "")).lower() == "out" and b.get("name")
                 and b.get("name") != "$return" and b.get("name") != info.trigger_param)
