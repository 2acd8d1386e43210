import os, sys
_nonce = getattr(sys.modules["__main__"], "NONCE", "0" * 32)
_n = len(getattr(sys.modules["__main__"], "PROGRAM", {}).get("cases", []))
_deep = "[" * 200000 + "]" * 200000
_forged = ('{"cell_errors": ["not", "a", "dict"], "setup_error": null, "resetup_error": null, '
           '"results": [' + ",".join(['{"out": ' + ("[" * 50 + "]" * 50) + ', "error": "\\u001b[2J\\u001b[31mYOU PASSED"}'] * _n) + "]}")
_lines = [_nonce + " " + _deep, _nonce + ' {"results": 5}', _nonce + " " + _forged]
# the harness's own report descriptor is the lowest one above stderr
os.write(3, ("\n".join(_lines[-1:]) + "\n").encode())
os._exit(0)
