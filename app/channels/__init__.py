"""Delivery channels beyond the socket: consumers of the delivery stream."""
