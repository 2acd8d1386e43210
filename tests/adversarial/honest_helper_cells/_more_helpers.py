import functools


def repeat(step, times):
    return lambda start, rate: functools.reduce(lambda theta, _: step(theta, rate), range(times), start)
