"""Every sample app of the SDK repo, run unchanged through rt.http, outside calls mocked.

The samples are not committed here: set ``DTK_SDK_SAMPLES`` to a checkout (or export)
of Azure/azure-functions-durable-python holding ``samples/`` and ``samples-v2/``, e.g.
``git archive HEAD samples samples-v2 | tar -x -C /tmp/sdk`` then
``DTK_SDK_SAMPLES=/tmp/sdk pytest tests/fidelity/test_sdk_samples.py``. Without it the
tests skip; tests/apps/fidelity_v1 and fidelity_v2 keep the features they rely on covered.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

import pytest
from azure.durable_functions import OrchestrationRuntimeStatus as Status

from durable_testkit import AppDiscoveryError, InMemoryRuntime, SpinningOrchestrator

ROOT = os.environ.get("DTK_SDK_SAMPLES")


class Seq(list):  # type: ignore[type-arg]
    """Mock answers, one per call (a plain list is one return value)."""


@dataclass
class Sample:
    folder: str
    path: Optional[str]  # the starter's route; None: no starter, rt.start(orchestrator)
    body: Any = None
    mocks: Dict[str, Any] = field(default_factory=dict)  # activities that reach outside
    events: List[Tuple[str, Callable[[InMemoryRuntime], Any]]] = field(default_factory=list)
    check: Callable[[Any], bool] = lambda output: True
    orchestrator: str = ""
    spins: bool = False  # the sample loops without letting time move
    broken: str = ""  # why the sample itself cannot load (expected to fail)


def _poll_answers(codes: List[int]) -> Callable[[Any], str]:
    """The codes in turn, then the last one forever."""
    calls: List[int] = []

    def answer(_: Any) -> str:
        calls.append(1)
        return json.dumps({"status_code": codes[min(len(calls), len(codes)) - 1]})

    return answer


def _sms_code(rt: InMemoryRuntime) -> Any:
    return rt.activity_calls[0].result  # the code the SMS carried (the activity's result)


SAMPLES = [
    Sample("samples/function_chaining", "/api/orchestrators/E1_HelloSequence",
           check=lambda out: out == ["Hello Tokyo!", "Hello Seattle!", "Hello London!"]),
    Sample("samples/function_chaining_custom_status", "/api/orchestrators/DurableOrchestration"),
    Sample("samples/fan_in_fan_out", "/api/orchestrators/E2_BackupSiteContent", "some/dir",
           mocks={"E2_GetFileList": ["a.txt", "b.txt", "c.txt"], "E2_CopyFileToBlob": 10},
           check=lambda out: out == 30),
    Sample("samples/human_interaction", "/api/orchestrators/E4_SMSPhoneVerification",
           "+15550100", events=[("SmsChallengeResponse", _sms_code)],
           check=lambda out: out is True),
    Sample("samples/monitor", "/api/orchestrators/E3_Monitor",
           {"repo": "octo/repo", "phone": "+15550100"},
           mocks={"E3_TooManyOpenIssues": Seq([False, False, True])},
           check=lambda out: out == "Monitor completed!"),
    Sample("samples/serialize_arguments", "/api/orchestrators/DurableOrchestration"),
    Sample("samples/simple_sub_orchestration", "/api/orchestrators/DurableOrchestrator"),
    Sample("samples/counter_entity", "/api/orchestrators/DurableOrchestration"),
    # No HTTP starter; its two activities import azureml (not installed): the folders fail to
    # load, the host loads the rest, and the mocks stand in for them. Once the job reports
    # 200 the sample's loop never breaks and has no timer: it polls again and again at one
    # instant until its 30-minute expiry (in Azure: as fast as the workers allow).
    Sample("samples/aml_monitoring", None, orchestrator="aml_durable_orchestrator",
           mocks={"aml_pipeline": "run-1",
                  "aml_poll_status": _poll_answers([202, 200])}, spins=True),
    Sample("samples-v2/function_chaining", "/api/orchestrators/my_orchestrator",
           broken="its host.json holds two JSON objects one after the other"),
    Sample("samples-v2/fan_in_fan_out", "/api/orchestrators/E2_BackupSiteContent", "some/dir",
           mocks={"E2_GetFileList": ["a.txt", "b.txt"], "E2_CopyFileToBlob": 5},
           check=lambda out: out == 10),
    Sample("samples-v2/blueprint", "/api/startOrchestrator",
           check=lambda out: out == ["Hello Tokyo!", "Hello Seattle!", "Hello London!"]),
]


def _started_id(response: Any) -> Optional[str]:
    try:
        return json.loads(response.get_body())["id"]
    except (ValueError, KeyError, TypeError):
        return None


@pytest.mark.skipif(not ROOT, reason="set DTK_SDK_SAMPLES to an SDK checkout to run its samples")
@pytest.mark.parametrize("sample", SAMPLES, ids=[s.folder for s in SAMPLES])
def test_sdk_sample(sample: Sample) -> None:
    folder = Path(ROOT or "") / sample.folder
    if not folder.is_dir():
        pytest.skip(f"{folder} is not in this checkout")
    target = folder / "function_app.py" if (folder / "function_app.py").is_file() else folder
    if sample.broken:
        with pytest.raises(AppDiscoveryError):
            InMemoryRuntime.from_app(target)
        pytest.xfail(sample.broken)
    try:
        rt = InMemoryRuntime.from_app(target)
    except AppDiscoveryError as exc:
        if isinstance(exc.__cause__, ModuleNotFoundError):  # a V2 app fails as a whole
            pytest.skip(f"the sample needs a package not installed here: {exc.__cause__}")
        raise
    try:
        for name, value in sample.mocks.items():
            if isinstance(value, Seq) or callable(value):
                rt.mock_activity(name, side_effect=value)
            else:
                rt.mock_activity(name, value)
        if sample.path is None:
            iid: Optional[str] = rt.start(sample.orchestrator)
        else:
            body = None if sample.body is None else json.dumps(sample.body)
            response = rt.http("POST", sample.path, body)
            assert response.status_code == 202, response.get_body()
            iid = _started_id(response)
        assert iid is not None
        if sample.events:
            rt.run_until_idle()
            for event, value in sample.events:
                rt.raise_event(iid, event, value(rt))
        if sample.spins:
            with pytest.raises(SpinningOrchestrator):
                rt.wait(iid)
            return
        result = rt.wait(iid)
        assert result.runtime_status == Status.Completed, result.error
        assert sample.check(result.output), result.output
    finally:
        rt.close()
