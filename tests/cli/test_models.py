"""Typed views of management-API payloads and the webhook reply."""

import json

from alertcap_cli.client import parse_webhook_reply
from alertcap_cli.models import Run, find_target

VM = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/web-1"


def test_run_from_a_python_started_status_payload():
    run = Run.from_api({
        "name": "capture", "instanceId": "alertcap-1", "runtimeStatus": "Completed",
        "input": json.dumps({"target": {"id": VM, "target_type": "AzureVM"}, "alert": {"rule": "r"}}),
        "customStatus": {"phase": "done"},
        "output": {"status": "succeeded", "capture_name": "alertcap-1-c", "target": VM},
        "createdTime": "2026-11-25T21:00:00Z", "lastUpdatedTime": "2026-11-25T21:05:00Z",
    })
    assert (run.status, run.phase, run.target, run.vm, run.done) == ("Completed", "done", VM, "web-1", True)
    assert run.capture == {"status": "succeeded", "capture_name": "alertcap-1-c", "target": VM}
    assert run.to_detail()["input"]["alert"] == {"rule": "r"}
    assert run.to_detail()["history"] is None


def test_history_rows_fold_names_details_and_durations():
    run = Run.from_api({"instanceId": "i", "runtimeStatus": "Failed", "historyEvents": [
        {"EventType": "ExecutionStarted", "FunctionName": "flaky", "Timestamp": "2026-11-25T21:00:00Z"},
        {"EventType": "TaskFailed", "FunctionName": "step", "Reason": "Activity function 'step' failed: boom",
         "ScheduledTime": "2026-11-25T21:00:00.5Z", "Timestamp": "2026-11-25T21:00:02.0Z"},
        {"EventType": "TimerCreated", "FireAt": "2026-11-25T22:00:00Z", "Timestamp": "2026-11-25T21:00:02Z"},
        {"EventType": "ExecutionCompleted", "OrchestrationStatus": "Failed", "Result": "boom",
         "Timestamp": "2026-11-25T21:00:03Z"},
    ]})
    rows = [h.to_dict() for h in run.history]
    assert [r["event"] for r in rows] == ["ExecutionStarted", "TaskFailed", "TimerCreated",
                                          "ExecutionCompleted"]
    assert rows[1]["name"] == "step" and "boom" in rows[1]["detail"] and rows[1]["durationSeconds"] == 1.5
    assert rows[2]["detail"] == "fires at 2026-11-25T22:00:00Z"
    assert rows[3]["detail"] == "Failed: boom"


def test_find_target_prefers_target_keys_and_ignores_other_ids():
    other = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/acct"
    assert find_target({"storage": other, "nested": {"target": {"id": VM}}}) == VM
    assert find_target({"x": "not an id"}, None, "/subscriptions/s/resourceGroups/rg") is None


def test_webhook_reply_of_the_product_shape():
    body = {"status": "accepted",
            "runs": [{"instanceId": "alertcap-a", "target": VM, "outcome": "started",
                      "statusQueryGetUri": "http://h/x"},
                     {"instanceId": "alertcap-b", "target": VM + "2", "outcome": "duplicate"}],
            "ignored": [{"target": "/subscriptions/s/x", "reason": "not a VM"}]}
    reply = parse_webhook_reply(202, body)
    assert [(r.id, r.result) for r in reply.runs] == [("alertcap-a", "started"), ("alertcap-b", "duplicate")]
    assert reply.runs[0].status_url == "http://h/x"
    assert reply.ignored == ["/subscriptions/s/x: not a VM"]
    assert reply.to_dict()["response"] == body


def test_webhook_reply_when_everything_was_ignored():
    reply = parse_webhook_reply(200, {"status": "ignored", "reason": "alert is Resolved, not firing"})
    assert reply.runs == [] and reply.ignored == ["alert is Resolved, not firing"]
