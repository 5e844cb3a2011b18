"""Events: the outbox, one immutable row per change a party cares about, and its feed."""
