"""Starts moto in server mode on 127.0.0.1:<port> for the tests and stops when the test
process that started it closes our stdin (that is, when it exits)."""
import os
import sys

from moto.server import ThreadedMotoServer

server = ThreadedMotoServer(ip_address="127.0.0.1", port=int(sys.argv[1]), verbose=False)
server.start()
print("ready", flush=True)
sys.stdin.read()
os._exit(0)
