# exploring by hand: a slow scan of the loss (about 2 s, under the per-cell limit)
import time
started = time.monotonic()
while time.monotonic() - started < 2.0:
    scan = [loss(w / 100) for w in range(600)]
