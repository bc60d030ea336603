"""Runs a command on a pseudo-terminal, as a person at a terminal would, for the robustness tests.

Usage: python3 test/terminal.py TRIGGER REPLY -- COMMAND [ARG...]

Copies the command's output to stdout. When the output first contains TRIGGER, writes REPLY to the
terminal: "n\\n" answers a prompt, "\\x03" is Ctrl-C (the terminal turns it into SIGINT, or readline in raw
mode passes it on). An empty TRIGGER never fires. With REPLY "wait", it instead waits for a line on its own
stdin and writes that line's text (escapes decoded) to the terminal, so a test can answer later. Exits with
the command's exit code (128 + signal when a signal ended it).
"""
import os
import pty
import select
import sys

trigger = sys.argv[1].encode()
reply = sys.argv[2]
command = sys.argv[sys.argv.index("--") + 1:]

pid, fd = pty.fork()
if pid == 0:
    os.execvp(command[0], command)

seen = b""
fired = False
waiting = False
stdin_open = True
while True:
    sources = [fd] + ([sys.stdin.fileno()] if waiting and stdin_open else [])
    try:
        ready, _, _ = select.select(sources, [], [], 0.1)
    except InterruptedError:
        continue
    if fd in ready:
        try:
            data = os.read(fd, 4096)
        except OSError:
            break
        if not data:
            break
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        seen = (seen + data)[-4096:]
        if trigger and not fired and trigger in seen:
            fired = True
            if reply == "wait":
                waiting = True
            else:
                os.write(fd, reply.encode().decode("unicode_escape").encode())
    if waiting and sys.stdin.fileno() in ready:
        line = sys.stdin.readline()
        if not line:
            stdin_open = False
        else:
            os.write(fd, line.rstrip("\n").encode().decode("unicode_escape").encode())
            waiting = False

_, status = os.waitpid(pid, 0)
if os.WIFSIGNALED(status):
    sys.exit(128 + os.WTERMSIG(status))
sys.exit(os.WEXITSTATUS(status))
