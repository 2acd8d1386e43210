"""The child side of the trusted verdict: runs inside the sandbox, next to the student's code.

It is copied into the sandbox as `harness.py`. Either it runs one test, as `python -I -B harness.py`,
or autograder/verdict/inside/zygote.py imports it once and runs each test in a forked child (`run`).
A test reads its program file (written by autograder/verdict/program.py), runs the source's setup
code, the student's solution cells and the reference code for the other exercises, calls the
student's code on the parent's inputs and prints ONE line: the run's nonce, a space, and the raw
observations as JSON. Its settings come with the program (the per-cell timeout among them).

It decides nothing: it only observes. Everything it needs is captured before any student code
runs, so replacing builtins, json, numpy or torch functions later does not change what it
reports; values are read only from objects of exactly the expected built-in types, everything
else is reported by a type tag. The parent treats this output as untrusted data all the same.
It imports nothing from the grader's package (none of it is reachable inside the sandbox).
"""
import base64
import builtins
import json
import marshal
import os
import signal
import sys
import time

_type, _len, _float, _int, _repr = type, len, float, int, repr
_list, _tuple, _dict, _str, _bool = list, tuple, dict, str, bool
_BaseException, _exec, _compile = BaseException, exec, compile
_range, _enumerate, _min, _abs, _getattr = range, enumerate, min, abs, getattr
_isinstance, _OSError = isinstance, OSError
_float_repr, _int_repr = float.__repr__, int.__repr__
_os_write, _os_dup, _os_dup2, _os_unlink = os.write, os.dup, os.dup2, os.unlink
_setitimer, _ITIMER_REAL, _signal, _SIGALRM = signal.setitimer, signal.ITIMER_REAL, signal.signal, signal.SIGALRM
_monotonic = time.monotonic
_marshal_loads, _b64decode = marshal.loads, base64.b64decode
_SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.:-+ ()[]<>,=/'")
_MAX_ITEMS = 1000

_NP_FLOATS, _NP_INTS = (), ()
try:
    import numpy as _np
    _NP_FLOATS = (_np.float64, _np.float32, _np.float16)
    _NP_INTS = (_np.int64, _np.int32, _np.int16, _np.int8, _np.uint64, _np.uint32, _np.uint16, _np.uint8)
except ImportError:  # pragma: no cover
    _np = None

_torch = None


def load_torch():
    """Import torch and keep its functions before any student code runs (idempotent)."""
    global _torch, _Tensor, _TB, _tensor, _zeros, _detach, _tolist, _numel, _dim
    global _is_leaf, _requires_grad, _grad, _backward, _float32, _DataLoader, _TensorDataset, _SGD
    if _torch is not None:
        return
    import torch
    import torch.optim
    import torch.utils.data
    _torch = torch
    _Tensor = _torch.Tensor
    _TB = getattr(_torch._C, "TensorBase", None) or _torch._C._TensorBase
    _tensor, _zeros = _torch.tensor, _torch.zeros
    _detach, _tolist, _numel, _dim = _TB.detach, _TB.tolist, _TB.numel, _TB.dim
    _is_leaf = _TB.is_leaf.__get__
    _requires_grad = _TB.requires_grad.__get__
    _grad = _TB.grad.__get__
    _backward = _Tensor.backward
    _float32 = _torch.float32
    _DataLoader, _TensorDataset = _torch.utils.data.DataLoader, _torch.utils.data.TensorDataset
    _SGD = _torch.optim.SGD


def _safe(text, limit=120):
    try:
        text = text if _type(text) is _str else _str.__str__(_type(text).__name__)
    except _BaseException:
        return "?"
    return "".join(ch if ch in _SAFE else "?" for ch in text[:limit])


_ERRNO_MEANING = {27: "file size / output limit exceeded", 28: "no space left", 24: "open-file limit",
                  11: "process limit", 12: "out of memory"}


def _exc(e):
    try:
        name = _safe(_type(e).__name__, 60)
        if _isinstance(e, _OSError):
            errno = _OSError.errno.__get__(e)
            if _type(errno) is _int and errno in _ERRNO_MEANING:
                name += " (" + _ERRNO_MEANING[errno] + ")"
        return name
    except _BaseException:
        return "?"


def _num(x):
    """repr of an exact float (or of an exact int converted to float), as a string."""
    try:
        return _float_repr(_float(x)) if _type(x) is not _float else _float_repr(x)
    except _BaseException:
        return "nan"


def enc(x, depth=0):
    """What x is, by exact type, and its value where the type is one we read values from."""
    t = _type(x)
    if t is _bool:
        return {"t": "bool"}
    if x is None:
        return {"t": "None"}
    if t is _int:
        return {"t": "int", "v": _num(x)}
    if t is _float:
        return {"t": "float", "v": _float_repr(x)}
    if t in _NP_FLOATS or t in _NP_INTS:
        return {"t": "numpy." + t.__name__, "v": _float_repr(_float(x))}
    if t is _list or t is _tuple:
        if depth >= 3:
            return {"t": "list" if t is _list else "tuple", "len": _len(x)}
        n = _len(x)
        items = [enc(x[i], depth + 1) for i in _range(_min(n, _MAX_ITEMS))]
        return {"t": "list" if t is _list else "tuple", "len": n, "items": items}
    if _torch is not None and t is _Tensor:
        out = {"t": "torch.Tensor", "dim": _dim(x), "numel": _numel(x), "dtype": _safe(_repr(x.dtype)),
               "is_leaf": _is_leaf(x), "requires_grad": _requires_grad(x)}
        if _numel(x) <= _MAX_ITEMS:
            out["v"] = _plain(_tolist(_detach(x)))
        g = _grad(x)
        if g is None:
            out["grad"] = None
        elif _type(g) is _Tensor and _numel(g) <= _MAX_ITEMS:
            out["grad"] = _plain(_tolist(_detach(g)))
        else:
            out["grad"] = "?"
        return out
    return {"t": "other", "name": _safe(_getattr(t, "__qualname__", "?"))}


def _plain(v):
    """A tolist() result (made by torch itself): nested lists of Python numbers, as strings."""
    if _type(v) is _list:
        return [_plain(e) for e in v]
    return _num(v)


# ---------------------------------------------------------------- a JSON writer that needs nothing
def _dump(o):
    t = _type(o)
    if o is None:
        return "null"
    if t is _bool:
        return "true" if o else "false"
    if t is _int:
        return _int_repr(o)
    if t is _str:
        return '"' + _safe(o, 400) + '"'
    if t is _list:
        return "[" + ",".join(_dump(e) for e in o) + "]"
    if t is _dict:
        return "{" + ",".join('"' + _safe(k, 60) + '":' + _dump(v) for k, v in o.items()) + "}"
    return '"?"'


# ---------------------------------------------------------------- running the student's cells

def _without_options(line):
    """`%timeit -n 10 -r 3 f()` -> `f()`: the statement after the magic's options."""
    words = line.split()
    while words and words[0].startswith("-"):
        option = words.pop(0)
        if option in ("-n", "-r", "-p") and words:
            words.pop(0)
    return " ".join(words)


class _NoIPython:
    """Stands in for get_ipython() in a notebook: `%time` and `%timeit` run their statement (as IPython
    does, `%timeit` in a scope of its own), every other magic, shell escape and handler does nothing."""

    def run_line_magic(self, name, line, *args, **kwargs):
        if name == "time":
            _exec(_compile(line, "<%time>", "exec"), NS)
        elif name == "timeit":
            _exec(_compile(_without_options(line), "<%timeit>", "exec"), _dict(NS))

    def __getattr__(self, name):
        return lambda *args, **kwargs: None


NS = {"__name__": "__main__", "__builtins__": builtins,
      "get_ipython": lambda: _NoIPython(), "display": lambda *args, **kwargs: None}
REPORT = {"cell_errors": {}, "missing": [], "results": [], "setup_error": None, "resetup_error": None,
          "overrides_error": None}


def _run(source, name):
    try:
        _exec(_compile(source, name, "exec"), NS)
        return None
    except _BaseException as e:
        return _exc(e)


def _run_compiled(encoded):
    """Run reference code handed in compiled (its text never enters the sandbox)."""
    try:
        _exec(_marshal_loads(_b64decode(encoded)), NS)
        return None
    except _BaseException as e:
        return _exc(e)


class _CourseModule(type(sys)):
    """Stands in for the course's figure and check modules (not in the sandbox): every name is a no-op,
    so a student cell that imports or calls them goes on to define what follows."""

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return lambda *args, **kwargs: None


def _stub_course_modules(names):
    for name in names if _type(names) is _list else []:
        if _type(name) is _str and name not in sys.modules:
            sys.modules[name] = _CourseModule(name)


class CellTimeoutError(BaseException):
    """A student cell ran past the per-cell time limit: stopped, as nbgrader stops it, and the run goes on."""


_IN_CELL = [False]


def _on_alarm(signum, frame):
    if _IN_CELL[0]:
        _IN_CELL[0] = False
        raise CellTimeoutError()


def _run_timed(source, name, seconds):
    """Run a student cell for at most `seconds` of wall clock; what it defined before it stopped stays."""
    if seconds <= 0:
        return "CellTimeoutError (no time left for the notebook's cells)"
    _signal(_SIGALRM, _on_alarm)
    _IN_CELL[0] = True
    try:
        _setitimer(_ITIMER_REAL, seconds)
        _exec(_compile(source, name, "exec"), NS)
        _IN_CELL[0] = False
        return None
    except _BaseException as e:
        return _exc(e)
    finally:
        _IN_CELL[0] = False
        _setitimer(_ITIMER_REAL, 0)


def _limit_checks_cpu(seconds):
    """The checks get the verdict's own CPU allowance, not what the notebook's cells were allowed."""
    if _type(seconds) is not _int:
        return
    try:
        import resource
        usage = resource.getrusage(resource.RUSAGE_SELF)
        soft, hard = resource.getrlimit(resource.RLIMIT_CPU)
        wanted = _int(usage.ru_utime + usage.ru_stime) + seconds
        if hard == resource.RLIM_INFINITY or wanted < hard:
            resource.setrlimit(resource.RLIMIT_CPU, (wanted, hard))
    except _BaseException:
        pass


def _student_seconds():
    """Time a student cell may run now: the per-cell limit, within what is left of the run's budget."""
    return _min(CELL_TIMEOUT, DEADLINE - _monotonic())


def _finish():
    line = NONCE + " " + _dump(REPORT) + "\n"
    data = line.encode("ascii", "replace")
    while data:
        n = _os_write(_OUT, data)
        data = data[n:]


def _call(name, *args):
    fn = NS.get(name)
    return fn(*args)


def case_call(case):
    """Call the student's function on plain JSON arguments. A case with `steps` (one argument list per
    call) calls it once per step and feeds each result back: its items replace the next step's arguments
    at the positions `feed` (an iterated step returning (new w, new velocity)), until a result is not a
    tuple of that length; every call is observed."""
    if "steps" not in case:
        return {"out": enc(_call(PARAMS["function"], *case["args"]))}
    feed, calls, out = case["feed"], [], None
    for k, step in _enumerate(case["steps"]):
        args = _list(step)
        for i, position in _enumerate(feed if k else []):
            args[position] = out[i]
        try:
            out = _call(PARAMS["function"], *args)
        except _BaseException as e:
            calls.append({"error": _exc(e)})
            break
        calls.append({"out": enc(out)})
        if _type(out) is not _tuple or _len(out) != _len(feed):
            break
    return {"calls": calls}


def case_cell(case):
    """Run the target cell (top-level code) and observe the variable it must set."""
    if not TARGET_SOURCES or None in TARGET_SOURCES:
        return {"error": "missing"}
    err = None
    for source in TARGET_SOURCES:  # a split or copied cell: every copy, in order, as the kernel runs them
        err = _run_timed(source, "<cell " + _target + ">", _student_seconds()) or err
    out = {"value": enc(NS.get(PARAMS["variable"]))}
    if err is not None:
        out["error"] = err
    return out


def _arg(spec, built):
    """One argument of a call, built here from the grader's plain description of it.

    `built`: the arguments before it (an optimizer refers to its parameters by their position)."""
    kind = spec.get("kind") if _type(spec) is _dict else None
    if kind == "tensor":  # float32, as torch.tensor makes from Python floats
        return _tensor(spec["data"], dtype=_float32, requires_grad=_bool(spec.get("requires_grad")))
    if kind == "zeros":
        return _zeros(*spec["shape"])
    if kind == "poly":  # t -> c0 t^n + c1 t^(n-1) + ... + cn, evaluated in that order
        coefficients = spec["coefficients"]
        n = _len(coefficients) - 1

        def polynomial(t):
            total = coefficients[0] * t ** n
            for k in _range(1, n):
                total = total + coefficients[k] * t ** (n - k)
            return total + coefficients[n]
        return polynomial
    if kind == "loader":  # DataLoader(TensorDataset(x, y), batch_size): batches in order
        data = _TensorDataset(_tensor(spec["x"], dtype=_float32), _tensor(spec["y"], dtype=_float32))
        return _DataLoader(data, batch_size=spec["batch_size"], shuffle=False)
    if kind == "sgd":  # torch.optim.SGD over earlier arguments
        return _SGD([built[i] for i in spec["params"]], lr=spec["lr"], momentum=spec.get("momentum", 0.0))
    return spec.get("value") if _type(spec) is _dict else spec


def case_torch_call(case):
    """Call the student's function on built arguments, `repeat` times, and observe.

    `feed`: the argument replaced by each call's result (an iterated step), stopping when that is not
    a tensor; `watch`: arguments observed after each call (updated in place); `after`: arguments whose
    values are observed at the end (they must not change); `backward`: call backward() on the last
    result and observe the gradient of these arguments.
    """
    args = []
    for spec in case["args"]:
        args.append(_arg(spec, args))
    feed, watch = case.get("feed"), case.get("watch", [])
    calls, out = [], None
    for _k in _range(case.get("repeat", 1)):
        try:
            out = _call(PARAMS["function"], *args)
        except _BaseException as e:
            calls.append({"error": _exc(e)})
            break
        record = {"out": enc(out)}
        if watch:
            record["args"] = [enc(args[i]) for i in watch]
        calls.append(record)
        if feed is not None:
            args[feed] = out
            if _type(out) is not _Tensor:
                break
    observed = {"calls": calls, "after": [_plain(_tolist(args[i])) for i in case.get("after", [])]}
    if case.get("backward") and calls and "error" not in calls[-1] and _type(out) is _Tensor:
        try:
            _backward(out)
            observed["grads"] = [enc(args[i])["grad"] for i in case["backward"]]
        except _BaseException as e:
            observed["error"] = _exc(e)
    return observed


_HANDLERS = {"call": case_call, "cell": case_cell, "torch_call": case_torch_call}


def run(program_file):
    """Read the program (and delete it), run it, write the one report line to the real stdout, exit.

    Never returns: interpreter shutdown is skipped, so atexit handlers and finalizers the student
    registered never run."""
    global PROGRAM, NONCE, KIND, PARAMS, TARGET_SOURCES, _target, _OUT, CELL_TIMEOUT, DEADLINE
    with open(program_file, encoding="utf-8") as fh:
        PROGRAM = json.load(fh)
    _os_unlink(program_file)
    NONCE = PROGRAM["nonce"]
    if PROGRAM.get("torch"):
        load_torch()
    _OUT = _os_dup(1)
    _os_dup2(2, 1)  # whatever the student prints goes to stderr; only the harness writes to _OUT
    CELL_TIMEOUT = _float(PROGRAM["cell_timeout"])   # the grader's (autograder/limits.py or --cell-timeout)
    DEADLINE = _monotonic() + _float(PROGRAM.get("cells_seconds", 60))
    REPORT["setup_error"] = _run(PROGRAM["setup"], "<setup>")
    _stub_course_modules(PROGRAM.get("stub_modules"))
    _target = PROGRAM["target"]
    # every code cell the notebook runs before the test, in order; a cell that raises or is stopped
    # at the time limit keeps what it defined, and the next cell runs, as in nbgrader's run
    for cell in PROGRAM["cells"]:
        if cell["id"] == _target and PROGRAM.get("defer_target"):
            continue
        if cell["source"] is None:
            REPORT["missing"].append(cell["id"])
            continue
        if cell.get("trusted"):
            err = _run(cell["source"], "<" + cell["id"] + ">")
        else:
            err = _run_timed(cell["source"], "<" + cell["id"] + ">", _student_seconds())
        if err is not None:
            REPORT["cell_errors"][cell["id"]] = err
    _limit_checks_cpu(PROGRAM.get("checks_cpu_seconds"))
    # the source's own setup names and the reference code for the other exercises, as the hidden tests do
    REPORT["resetup_error"] = _run(PROGRAM["setup"], "<setup again>")
    REPORT["overrides_error"] = _run_compiled(PROGRAM.get("overrides"))
    KIND, PARAMS = PROGRAM["kind"], PROGRAM.get("params", {})
    TARGET_SOURCES = [cell["source"] for cell in PROGRAM["cells"] if cell["id"] == _target]
    for case in PROGRAM["cases"]:
        for name, value in case.get("globals", {}).items():
            NS[name] = value
        try:
            res = _HANDLERS[KIND](case)
        except _BaseException as e:
            res = {"error": _exc(e)}
        REPORT["results"].append(res)
    _finish()
    sys.stdout.flush = lambda: None  # nothing more may reach stdout
    os._exit(0)


if __name__ == "__main__":
    run("program.json")
