"""Webhooks: subscriptions, signed delivery (Standard Webhooks) and the dispatcher."""
