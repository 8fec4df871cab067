"""What the channel tests share: waiting for a delivery's status, sending a notification."""

import time


def wait_until(check, timeout=20, step=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(step)
    raise AssertionError("timed out waiting")


def deliveries(api, account, notification_id):
    answer = api.get(f"/api/notifications/{notification_id}/deliveries", account=account)
    assert answer.status_code == 200, answer.text
    return {item["channel"]: item for item in answer.json()["items"]}


def email_status(api, account, notification_id, status, timeout=20):
    """Waits until the notification's email delivery has `status`; returns the delivery."""

    def reached():
        email = deliveries(api, account, notification_id).get("email")
        return email if email and email["status"] == status else None

    return wait_until(reached, timeout=timeout)


def notify(api, sender, recipient, message, **fields):
    created = api.post(
        "/api/notifications",
        account=sender,
        json={"userId": recipient.id, "message": message, **fields},
    )
    assert created.status_code == 201, created.text
    return created.json()
