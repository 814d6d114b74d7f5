"""The capture orchestration at the replay boundary: built histories through the SDK's Orchestrator.handle."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from azure.durable_functions.models.history.HistoryEventType import HistoryEventType as T
from product_replay_harness import ActivityFailure, ReplayHarness

from core.alerts import AlertSummary
from core.capture_files import CaptureFile, DescribedCapture
from core.orchestration import EXTRA_ALERT_EVENT
from core.outcome import Outcome
from core.records import CaptureRequest
from core.settings import Settings
from core.targets import Target
from core.triage_model import TriageRequest, TriageResult, TriageSummary
from core.watchers import CreatedWatcher, WatcherRequest, missing_watcher_reason
from orchestrators.capture import capture_orchestration

SUB = "00000000-0000-0000-0000-000000000001"
VM = f"/subscriptions/{SUB}/resourceGroups/app-rg/providers/Microsoft.Compute/virtualMachines/web-1"
WATCHERS = f"/subscriptions/{SUB}/resourceGroups/NetworkWatcherRG/providers/Microsoft.Network/networkWatchers"
WATCHER = f"{WATCHERS}/nw-weu"
OTHER_WATCHER = f"{WATCHERS}/nw-us"
STORAGE = f"/subscriptions/{SUB}/resourceGroups/data/providers/Microsoft.Storage/storageAccounts/caps"
START = datetime(2026, 11, 25, 22, 0, 0, tzinfo=UTC)


def make_input(**config_overrides: Any) -> dict[str, Any]:
    env = {"ACS_ENDPOINT": "https://acs.example", "EMAIL_SENDER": "a@example.com",
           "EMAIL_RECIPIENTS": "ops@example.com", "CAPTURE_STORAGE_ACCOUNT_ID": STORAGE,
           "CAPTURE_TIME_LIMIT_SECONDS": "60", "ACTIVITY_RETRY_ATTEMPTS": "3",
           "ACTIVITY_RETRY_INTERVAL_SECONDS": "5", "REGION_CAPTURE_LIMIT": "2",
           "LIMIT_RETRY_INTERVAL_SECONDS": "60", "LIMIT_WAIT_SECONDS": "600", "OVERRUN_GRACE_SECONDS": "120"}
    config = Settings.from_mapping(env).capture_config()
    config.update(config_overrides)
    alert = AlertSummary("azureMonitorCommonAlertSchema", "/alerts/a1", "High TCP <b>", "Sev2", "Fired",
                         START.isoformat(), "Metric", "")
    return CaptureRequest(Target(VM, "AzureVM"), alert, START.isoformat(), config).to_dict()


@dataclass
class FakeAzure:
    """Scripted answers of the activities (the Azure side as the orchestrator sees it)."""

    vm_found: bool = True
    power_state: str = "running"
    session_counts: list[int] = field(default_factory=lambda: [0])
    agent_installed: bool = True
    install_ok: bool = True
    statuses: list[str] = field(default_factory=lambda: ["Stopped"])
    stop_reason: str = "TimeExceeded"
    errors: list[str] = field(default_factory=list)
    transient_failures: dict[str, int] = field(default_factory=dict)
    email_always_fails: bool = False
    email_failures: int = 0  # the first N send_email attempts fail (an ACS outage)
    blob_after_describes: int = 1
    email_calls: int = 0
    triage_refused: bool = False
    instance_files: tuple[tuple[str, int], ...] = ()

    def __call__(self, name: str, payload: dict[str, Any], attempt: int) -> Any:
        if name == "send_email":
            self.email_calls += 1
        outage = self.email_always_fails or self.email_calls <= self.email_failures
        email_down = name == "send_email" and outage
        if attempt <= self.transient_failures.get(name, 0) or email_down:
            raise ActivityFailure("HTTP 503 ServiceUnavailable")
        return getattr(self, name)(payload).to_dict()

    def locate_target(self, payload: dict) -> Outcome:
        if not self.vm_found:
            return Outcome.failure("ResourceNotFound", "The Resource 'web-1' was not found.")
        return Outcome.success(location="westeurope", os_type="linux", power_state=self.power_state,
                               name="web-1")

    def list_watchers(self, payload: dict) -> Outcome:
        return Outcome.success(watchers=[{"id": OTHER_WATCHER, "name": "nw-us", "location": "eastus"},
                                         {"id": WATCHER, "name": "nw-weu", "location": "WestEurope"}])

    def prepare_region(self, payload: dict) -> Outcome:
        assert payload["watcher_id"] == WATCHER
        count = self.session_counts.pop(0) if len(self.session_counts) > 1 else self.session_counts[0]
        return Outcome.success(session_count=count, deleted=[])

    def check_agent(self, payload: dict) -> Outcome:
        return Outcome.success(installed=self.agent_installed, name="", provisioning_state="")

    def install_agent(self, payload: dict) -> Outcome:
        if not self.install_ok:
            return Outcome.failure("AgentInstallFailed", "extension provisioning state 'Failed'")
        self.agent_installed = True
        return Outcome.success(name="AzureNetworkWatcherExtension", provisioning_state="Succeeded")

    def create_capture(self, payload: dict) -> Outcome:
        capture_id = f"{WATCHER}/packetCaptures/{payload['name']}"
        return Outcome.success(id=capture_id, name=payload["name"], provisioning_state="Succeeded",
                               storage_path="", existed=False)

    def query_capture(self, payload: dict) -> Outcome:
        status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        return Outcome.success(status=status, stop_reason=self.stop_reason if status != "Running" else "",
                               errors=self.errors if status == "Error" else [], start_time="")

    def stop_capture(self, payload: dict) -> Outcome:
        self.statuses = ["Stopped"]
        self.stop_reason = "Manual"
        return Outcome.success(stopped=True)

    def describe_capture(self, payload: dict) -> Outcome:
        self.blob_after_describes -= 1
        path = "https://caps.blob.core.windows.net/network-watcher-logs/x.cap"
        files = [CaptureFile(path, 2048)] if self.blob_after_describes <= 0 else []
        if files and self.instance_files:
            files = [CaptureFile(f"{path[:-4]}/{name}.cap", size, name) for name, size in self.instance_files]
        return Outcome.success(**DescribedCapture(path, files, bool(files)).to_dict())

    def triage_capture(self, payload: dict) -> Outcome:
        request = TriageRequest.from_dict(payload)
        if self.triage_refused:
            return Outcome.failure("AuthorizationPermissionMismatch", "HTTP 403: not allowed")
        summaries = [TriageSummary(source=url.rsplit("/", 1)[-1], packets=7, verdict="all quiet")
                     for url in request.files]
        return Outcome.success(**TriageResult(summaries).to_dict())

    def send_email(self, payload: dict) -> Outcome:
        return Outcome.success(message_id=payload["operation_id"], status="Succeeded")


def run(azure: FakeAzure, events: list | None = None, **config: Any):
    harness = ReplayHarness(capture_orchestration, make_input(**config), azure, events=events or [])
    result = harness.run()
    assert result.state.get("error") is None, result.state
    return result


def phases(result) -> list[str]:
    return [s["phase"] for s in result.custom_statuses if s]


def test_happy_path_creates_one_capture_waits_and_emails() -> None:
    result = run(FakeAzure())
    out = result.output
    assert out["status"] == "succeeded", out
    assert out["capture_name"].startswith("alertcap-") and out["network_watcher"] == WATCHER
    assert out["capture_status"] == "Stopped" and out["stop_reason"] == "TimeExceeded"
    assert out["size_bytes"] == 2048 and out["email_message_id"]
    assert len(result.called("create_capture")) == 1
    assert len(result.called("send_email")) == 1 and out["status_checks"] == 1
    # first status check near the expected end (60 s limit + 5 s slack), never earlier
    created = datetime.fromisoformat(out["timings"]["capture_created"])
    finished = datetime.fromisoformat(out["timings"]["capture_finished"])
    assert 65 <= (finished - created).total_seconds() < 66
    assert phases(result)[:3] == ["locating", "cleaning", "creating"] and "capturing" in phases(result)
    assert phases(result)[-1] == "done"
    email_record = result.called("send_email")[0]["record"]
    assert email_record["status"] == "succeeded" and email_record["alert"]["rule"] == "High TCP <b>"


def test_locate_and_list_watchers_run_in_parallel() -> None:
    result = run(FakeAzure())
    scheduled = [e for e in result.history if e["EventType"] == int(T.TASK_SCHEDULED)]
    first_two = {e["Name"] for e in scheduled[:2]}
    assert first_two == {"locate_target", "list_watchers"}
    # both were scheduled in the same episode (before the first OrchestratorCompleted)
    kinds = [e["EventType"] for e in result.history]
    first_completed = kinds.index(int(T.ORCHESTRATOR_COMPLETED))
    assert all(result.history.index(e) < first_completed for e in scheduled[:2])


def test_limit_reached_then_freed_waits_on_a_durable_timer() -> None:
    result = run(FakeAzure(session_counts=[2, 2, 1]))
    out = result.output
    assert out["status"] == "succeeded"
    assert out["limit_waits"] == 2
    assert len(result.called("prepare_region")) == 3
    assert "waiting for capacity" in phases(result)


def test_limit_still_reached_at_deadline_fails_and_notifies() -> None:
    result = run(FakeAzure(session_counts=[5]), limit_wait_seconds=150)
    out = result.output
    assert out["status"] == "failed" and "limit is still reached" in out["reason"]
    assert out["limit_waits"] == 2
    assert not result.called("create_capture")
    assert result.called("send_email")[0]["record"]["status"] == "failed"


def test_agent_missing_without_auto_install_fails_with_that_reason() -> None:
    result = run(FakeAzure(agent_installed=False), agent_auto_install=False)
    out = result.output
    assert out["status"] == "failed" and "agent extension is not installed" in out["reason"]
    assert not result.called("install_agent") and not result.called("create_capture")
    assert len(result.called("send_email")) == 1


def test_agent_missing_with_auto_install_installs_then_captures() -> None:
    result = run(FakeAzure(agent_installed=False), agent_auto_install=True)
    out = result.output
    assert out["status"] == "succeeded" and out["agent_installed_by_us"] is True
    assert result.called("install_agent")[0]["os_type"] == "linux"
    names = [n for n, _ in result.calls]
    assert names.index("install_agent") < names.index("create_capture")


def test_agent_install_failure_is_reported() -> None:
    result = run(FakeAzure(agent_installed=False, install_ok=False), agent_auto_install=True)
    out = result.output
    assert out["status"] == "failed" and "installing the Network Watcher agent" in out["reason"]


def test_capture_error_reports_the_error_codes() -> None:
    result = run(FakeAzure(statuses=["Error"], errors=["StorageFailed", "AgentStopped"]))
    out = result.output
    assert out["status"] == "failed"
    assert "StorageFailed" in out["reason"] and "AgentStopped" in out["reason"]
    assert out["capture_errors"] == ["StorageFailed", "AgentStopped"]
    assert not result.called("describe_capture") and len(result.called("send_email")) == 1


def test_vm_not_found_fails_without_creating() -> None:
    result = run(FakeAzure(vm_found=False))
    out = result.output
    assert out["status"] == "failed" and "not found" in out["reason"]
    assert {n for n, _ in result.calls} == {"locate_target", "list_watchers", "send_email"}


def test_stopped_vm_fails_with_its_power_state() -> None:
    result = run(FakeAzure(power_state="deallocated"))
    assert result.output["status"] == "failed" and "deallocated" in result.output["reason"]


def test_overrun_capture_is_stopped_after_grace() -> None:
    result = run(FakeAzure(statuses=["Running"]))
    out = result.output
    assert out["stopped_by_us"] is True and out["stop_reason"] == "Manual"
    assert out["status"] == "succeeded"
    assert len(result.called("stop_capture")) == 1
    created = datetime.fromisoformat(out["timings"]["capture_created"])
    finished = datetime.fromisoformat(out["timings"]["capture_finished"])
    assert (finished - created).total_seconds() >= 60 + 120  # limit + grace


def test_transient_errors_are_retried_by_the_retry_policy() -> None:
    result = run(FakeAzure(transient_failures={"create_capture": 2, "locate_target": 1}))
    assert result.output["status"] == "succeeded"
    assert len(result.called("create_capture")) == 3 and len(result.called("locate_target")) == 2


def test_transient_errors_beyond_the_attempts_fail_the_run_but_still_notify() -> None:
    result = run(FakeAzure(transient_failures={"create_capture": 10}))
    out = result.output
    assert out["status"] == "failed" and "kept failing" in out["reason"] and out["phase"] == "done"
    assert len(result.called("create_capture")) == 3
    assert len(result.called("send_email")) == 1


def test_a_permanent_email_outage_says_notification_failed_after_the_retry_window() -> None:
    """Issue 9 defect 3: a failed email used to leave the run "succeeded" after five quick retries."""
    result = run(FakeAzure(email_always_fails=True), email_retry_seconds=3600)
    out = result.output
    assert out["status"] == "succeeded, notification failed" and out["notification"] == "failed"
    assert out["email_message_id"] == "" and "email retries exhausted" in out["email_error"]
    assert result.custom_statuses[-1]["notification"] == "failed"
    assert result.custom_statuses[-1]["outcome"] == "succeeded, notification failed"
    assert "waiting to retry the email" in phases(result)
    started = datetime.fromisoformat(out["timings"]["capture_finished"])
    gave_up = datetime.fromisoformat(out["timings"]["notified"])
    assert 3000 <= (gave_up - started).total_seconds() <= 3600 + 60  # kept trying for the configured hour
    attempts = len(result.called("send_email"))
    assert out["email_attempts"] * 3 == attempts and 10 <= out["email_attempts"] <= 20  # bounded history
    operation_ids = {c["operation_id"] for c in result.called("send_email")}
    assert len(operation_ids) == 1, "every attempt must reuse the run's operation id"


def test_an_email_outage_shorter_than_the_window_still_delivers_one_email() -> None:
    result = run(FakeAzure(email_failures=12), email_retry_seconds=3600)
    out = result.output
    assert out["status"] == "succeeded" and out["notification"] == "sent" and out["email_error"] == ""
    assert out["email_message_id"] and out["email_attempts"] == 5  # 4 rounds of 3 quick attempts failed
    assert result.custom_statuses[-1] == {"phase": "done", "target": VM, "outcome": "succeeded",
                                          "notification": "sent"}


def test_the_email_operation_id_is_the_same_for_any_instance_of_the_same_window() -> None:
    first = run(FakeAzure()).called("send_email")[0]["operation_id"]
    harness = ReplayHarness(capture_orchestration, make_input(), FakeAzure(), instance_id="elsewhere")
    again = harness.run().called("send_email")[0]["operation_id"]
    assert first == again
    failed = run(FakeAzure(vm_found=False)).called("send_email")[0]["operation_id"]
    assert failed != first  # another outcome (a rewound run that now succeeds) is a new email


def test_invalid_input_is_rejected_before_any_activity() -> None:
    bad = make_input()
    bad["target"]["id"] = "/subscriptions/x/../../etc"
    result = ReplayHarness(capture_orchestration, bad, FakeAzure()).run()
    assert result.output["status"] == "rejected" and "target.id" in result.output["reason"]
    assert result.calls == []


def test_five_hour_capture_history_stays_small() -> None:
    azure = FakeAzure(statuses=["Running", "Running", "Running", "Stopped"])
    result = run(azure, time_limit_seconds=18000, overrun_grace_seconds=300)
    out = result.output
    assert out["status"] == "succeeded" and out["status_checks"] == 4
    assert result.count(T.TIMER_FIRED) <= 20
    assert out["status_checks"] <= 20
    assert len(result.history) < 120, len(result.history)


def test_extra_alerts_are_recorded_once_each_whenever_they_arrive() -> None:
    second = datetime(2026, 11, 25, 22, 0, 0, 10_000, tzinfo=UTC)  # while the first activities run
    extra = [
        (second, EXTRA_ALERT_EVENT, {"alert_id": "/alerts/a2", "fired_at": "t2"}),
        (second, EXTRA_ALERT_EVENT, {"alert_id": "/alerts/a3", "fired_at": "t3"}),
        (second, EXTRA_ALERT_EVENT, {"alert_id": "/alerts/a2", "fired_at": "t2"}),  # a retried delivery
        (START.replace(second=30), EXTRA_ALERT_EVENT, {"alert_id": "/alerts/a4", "fired_at": "t4"}),
        # the original alert delivered again through a second action group
        (START.replace(second=40), EXTRA_ALERT_EVENT,
         {"alert_id": "/alerts/a1", "fired_at": START.isoformat(), "condition": "Fired"}),
    ]
    result = run(FakeAzure(), events=extra)
    out = result.output
    assert out["status"] == "succeeded"
    assert out["extra_alert_count"] == 3
    assert [a["alert_id"] for a in out["extra_alerts"]] == ["/alerts/a2", "/alerts/a3", "/alerts/a4"]
    assert len(result.called("create_capture")) == 1 and len(result.called("send_email")) == 1
    assert result.called("send_email")[0]["record"]["extra_alert_count"] == 3


def test_extra_alert_list_is_capped_but_counted() -> None:
    extra = [(START.replace(second=20), EXTRA_ALERT_EVENT, {"alert_id": f"/alerts/s{i}", "fired_at": "t"})
             for i in range(30)]
    out = run(FakeAzure(), events=extra).output
    assert out["extra_alert_count"] == 30 and len(out["extra_alerts"]) == 20


@pytest.mark.parametrize("fail_step", ["list_watchers", "prepare_region", "check_agent", "query_capture"])
def test_any_step_exhausting_retries_ends_in_a_failed_notified_run(fail_step: str) -> None:
    result = run(FakeAzure(transient_failures={fail_step: 99}))
    assert result.output["status"] == "failed" and result.output["phase"] == "done"
    assert len(result.called("send_email")) == 1


def test_a_late_capture_file_is_waited_for_a_bounded_time() -> None:
    result = run(FakeAzure(blob_after_describes=3))
    assert result.output["size_bytes"] == 2048 and len(result.called("describe_capture")) == 3
    never = run(FakeAzure(blob_after_describes=99))
    assert never.output["status"] == "succeeded" and never.output["size_bytes"] is None
    assert len(never.called("describe_capture")) == 4


def test_scale_set_target_creates_an_azurevmss_capture_with_the_instance_scope() -> None:
    vmss = VM.replace("virtualMachines/web-1", "virtualMachineScaleSets/pool")
    request = make_input()
    request["target"] = Target(vmss, "AzureVMSS", ("pool_1",)).to_dict()
    result = ReplayHarness(capture_orchestration, request, FakeAzure()).run()
    assert result.output["status"] == "succeeded" and result.output["target_type"] == "AzureVMSS"
    (created,) = result.called("create_capture")
    assert created["target"] == {"id": vmss, "target_type": "AzureVMSS", "scope_include": ["pool_1"]}


@dataclass
class NoWatcherAzure(FakeAzure):
    """A region without a Network Watcher: list_watchers finds none for westeurope."""

    def list_watchers(self, payload: dict) -> Outcome:
        return Outcome.success(watchers=[{"id": OTHER_WATCHER, "name": "nw-us", "location": "eastus"}])

    def create_watcher(self, payload: dict) -> Outcome:
        request = WatcherRequest.from_dict(payload)
        watcher = f"{WATCHERS}/NetworkWatcher_{request.region}"
        return Outcome.success(**CreatedWatcher(watcher, f"NetworkWatcher_{request.region}", request.region,
                                                created_group=False, created_watcher=True).to_dict())

    def prepare_region(self, payload: dict) -> Outcome:
        assert payload["watcher_id"] == f"{WATCHERS}/NetworkWatcher_westeurope"
        return Outcome.success(session_count=0, deleted=[])


def test_a_region_without_watcher_fails_with_the_commands_when_auto_create_is_off() -> None:
    out = run(NoWatcherAzure()).output
    assert out["status"] == "failed" and out["reason"] == missing_watcher_reason(SUB, "westeurope")
    assert "az network watcher configure" in out["reason"] and not out["network_watcher_created_by_us"]


def test_a_region_without_watcher_gets_one_then_the_capture_when_auto_create_is_on() -> None:
    result = run(NoWatcherAzure(), network_watcher_auto_create=True)
    out = result.output
    assert out["status"] == "succeeded", out
    assert result.called("create_watcher") == [{"subscription_id": SUB, "region": "westeurope"}]
    assert out["network_watcher"] == f"{WATCHERS}/NetworkWatcher_westeurope"
    assert out["network_watcher_created_by_us"] is True
    names = [n for n, _ in result.calls]
    assert names.index("create_watcher") < names.index("prepare_region") < names.index("create_capture")


def test_triage_summarises_the_capture_file_before_the_email() -> None:
    result = run(FakeAzure())
    (call,) = result.called("triage_capture")
    assert call["files"] == ["https://caps.blob.core.windows.net/network-watcher-logs/x.cap"]
    assert 0 < call["budget_seconds"] <= 600
    triage = TriageResult.from_dict(result.output["triage"])
    assert triage.overall.verdict == "all quiet" and triage.overall.source == "x.cap" and not triage.error
    assert result.called("send_email")[0]["record"]["triage"] == result.output["triage"]
    assert phases(result).index("summarising the capture") < phases(result).index("notifying")


@pytest.mark.parametrize("azure", [FakeAzure(transient_failures={"triage_capture": 99}),
                                   FakeAzure(triage_refused=True)], ids=["retries-exhausted", "refused"])
def test_a_triage_failure_never_fails_the_run(azure: FakeAzure) -> None:
    result = run(azure)
    assert result.output["status"] == "succeeded" and result.output["phase"] == "done"
    triage = TriageResult.from_dict(result.output["triage"])
    assert triage.overall is None and triage.error
    assert len(result.called("send_email")) == 1


def test_no_capture_file_means_no_triage() -> None:
    result = run(FakeAzure(statuses=["Error"], errors=["CaptureFailed"]))
    assert not result.called("triage_capture") and result.output["triage"] == {}


def test_a_scale_set_capture_triages_each_non_empty_instance_file() -> None:
    vmss = VM.replace("virtualMachines/web-1", "virtualMachineScaleSets/pool")
    request = make_input()
    request["target"] = Target(vmss, "AzureVMSS", ("pool_1", "pool_2", "pool_3")).to_dict()
    azure = FakeAzure(instance_files=(("pool_1", 4096), ("pool_2", 0), ("pool_3", 900)))
    result = ReplayHarness(capture_orchestration, request, azure).run()
    (call,) = result.called("triage_capture")
    assert [url.rsplit("/", 1)[-1] for url in call["files"]] == ["pool_1.cap", "pool_3.cap"]
    assert [f.source for f in TriageResult.from_dict(result.output["triage"]).files] == ["pool_1.cap",
                                                                                         "pool_3.cap"]


def test_an_unreadable_sentry_view_is_no_sentry_the_run_captures_as_unarmed() -> None:
    request = make_input()
    request["sentry"] = {"phase": "armed"}  # no target: not a view the harvest can use
    result = ReplayHarness(capture_orchestration, request, FakeAzure()).run()
    assert result.output["status"] == "succeeded" and result.output["armed"] is False
    assert not result.called("harvest_ring") and len(result.called("create_capture")) == 1
