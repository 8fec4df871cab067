"""Delivery: from a saved notification to every instance, at least once and in order.

`outbox` and `relay` publish what requests saved (`ordering` keeps it in id
order), `events` is the broker's wire format, `consumer` takes every event off
the broker with retries and dead letters (`dead_letters`, with its admin
`routes`), and `announce` publishes the events that are not notifications.
"""
