"""Guard: every program the tree runs comes from a package that setup installs.

A program installed by hand on the developer's machine hides a missing install
step (``ping`` and ``tcpdump`` did: ``make demo`` failed for a new user while CI
passed). This guard does not ask whether a program is *present*; it asks
whether ``requirements/apt.txt`` (what ``scripts/setup.sh`` installs), with its
dependencies, or Debian's ``required`` set brings it:

1. it reads every tracked Python file, shell script, Makefile and YAML task
   file, and collects the programs they run: the first word of each argv list
   handed to a runner (``run``, ``sh``, ``popen``, ``subprocess.*``, ...), of each
   shell command line, of each ``command``/``shell`` task, looking through
   wrappers (``timeout``, ``nsenter``, ``env``, ``ip netns exec``, ...);
2. it finds each program on the standard PATH and the Debian package that owns
   it (dpkg's file lists); programs of the virtualenv are the virtualenv's;
3. it computes the closure of ``requirements/apt.txt`` under Depends and
   Pre-Depends, plus the Essential and ``required`` packages, with python3-apt;
4. it fails, naming file, line, program and package, for every program whose
   package is outside that closure, and for every program it cannot find at all
   (no package on this machine has it: setup does not install it).

Run with Debian's Python (python3-apt): ``/usr/bin/python3 scripts/check_programs.py [ROOT]``.
``--apt FILE`` checks against another package list (the guard's own test uses it).
"""

from __future__ import annotations

import argparse
import ast
import glob
import os
import re
import shlex
import subprocess
import sys

STANDARD_PATH = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"]

# Functions and methods whose arguments include an argv list or a shell command line.
# (``exec`` is left out on purpose: in the tests it runs a command inside a lab container, whose
# programs come from the lab's busybox image, not from the machine.)
RUNNERS = {
    "run", "sh", "popen", "Popen", "check_output", "check_call", "json", "ns",
    "in_netns", "run_command", "system", "getoutput", "getstatusoutput", "nsrun", "host_run",
}
# Programs the collection runs only when the user has them, never installed by setup: each with why.
OPTIONAL = {
    "podman": "container_attach resolves Podman references with the user's podman; the lab uses Docker",
    "systemctl": "the daemon helper (_daemon.py) uses systemd only on hosts that run it; the lab has none",
}
# Programs that run another program: how many words of their own to skip (None: skip options only).
WRAPPERS = {"timeout": 1, "nsenter": None, "env": None, "setsid": None, "unshare": None, "nice": None,
            "ionice": None, "stdbuf": None, "sudo": None, "xargs": None, "exec": 0, "command": 0,
            "chroot": 1, "flock": 1, "time": 0, "watch": None}
# Shell words that are not programs.
SHELL_WORDS = {
    "if", "then", "else", "elif", "fi", "for", "while", "until", "do", "done", "case", "esac", "in",
    "function", "select", "return", "local", "export", "readonly", "declare", "typeset", "unset", "shift",
    "set", "cd", "pushd", "popd", "source", ".", "eval", "trap", "wait", "read", "mapfile", "printf",
    "echo", "true", "false", "test", "[", "[[", "]]", "]", "{", "}", "(", ")", "!", "exit", "break",
    "continue", "let", "alias", "builtin", "type", "hash", "ulimit", "umask", "getopts", "kill", "jobs",
    "fg", "bg", "disown", "shopt", ":", "pwd",
}
SHELL_SEPARATORS = {"|", "||", "&&", ";", "&", "then", "do", "else", "elif", "if", "while", "until", "!",
                    "$(", "`", "(", "{"}
NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.+-]*$")
ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\[[^\]]*\])?\+?=")


class Use:
    def __init__(self, program, path, line):
        self.program, self.path, self.line = program, path, line

    def __repr__(self):
        return "%s:%d: %s" % (self.path, self.line, self.program)


def unwrap(words):
    """The program a command line really runs, looking through wrappers."""
    words = [w for w in words if w is not None]
    while words:
        first = os.path.basename(words[0]) if words[0].startswith("/") else words[0]
        if ASSIGNMENT.match(first):   # VAR=value cmd
            words = words[1:]
            continue
        if first == "ip" and words[1:3] == ["netns", "exec"]:
            words = words[4:]
            continue
        if first in WRAPPERS:
            rest = words[1:]
            while rest and rest[0].startswith("-"):
                opt = rest.pop(0)
                if first in ("timeout", "flock") and opt in ("-s", "--signal", "-k", "--kill-after", "-w"):
                    rest = rest[1:]
            if first == "env":
                while rest and "=" in rest[0]:
                    rest = rest[1:]
            skip = WRAPPERS[first] or 0
            rest = rest[skip:]
            if not rest:
                return words[0]
            words = rest
            continue
        return words[0]
    return None


def _without_arithmetic(text):
    """``$(( ... ))`` replaced by the command substitutions inside it (``$(( ($(date +%s) - t) / 2 ))``)."""
    out, i = [], 0
    while i < len(text):
        if not text.startswith("$((", i):
            out.append(text[i])
            i += 1
            continue
        depth, k = 0, i + 1
        while k < len(text):
            depth += {"(": 1, ")": -1}.get(text[k], 0)
            if depth == 0:
                break
            k += 1
        inner = text[i + 3:k - 1]
        subs = re.findall(r"\$\(([^()]*)\)", inner)
        out.append(" ; ".join("$( %s )" % sub for sub in subs) or "0")
        i = k + 1
    return "".join(out)


def shell_programs(text):
    """Programs at command positions of a shell command line (one logical line)."""
    text = _without_arithmetic(text)
    text = re.sub(r"[<>]\(", " $( ", text)                       # process substitution
    text = re.sub(r"\d*(?:<<<|>>|>&|<&|&>|>|<)\s*[^\s;|&()]*", " ", text)  # redirections and their files
    text = text.replace("$(", " $( ").replace("`", " ` ")
    lexer = shlex.shlex(text, posix=True, punctuation_chars="|&;()")
    lexer.whitespace_split = True
    lexer.commenters = "#"
    try:
        tokens = list(lexer)
    except ValueError:
        tokens = text.split()
    found = []
    start = True
    command = []
    for tok in tokens + [";"]:
        if tok == "()":                   # name=() or a function definition
            continue
        if tok in SHELL_SEPARATORS or tok in ("$(", "`", ")"):
            if command:
                prog = unwrap(command)
                if prog:
                    found.append(prog)
            command = []
            start = True
            continue
        if start:
            command.append(tok)
            if not (tok in WRAPPERS or ASSIGNMENT.match(tok)):
                # keep collecting only for wrappers; the rest of the words are arguments
                start = tok in ("ip",)
            continue
        if command and (command[0] in WRAPPERS or command[0] == "ip"):
            command.append(tok)
    return found


def _const_words(node, names=None):
    """Leading string constants of a list/tuple literal (None where an element is not a constant)."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _const_words(node.left, names)
    if isinstance(node, (ast.List, ast.Tuple)):
        out = []
        for elt in node.elts:
            if isinstance(elt, ast.Name) and names and elt.id in names:
                out.append(names[elt.id])
            else:
                out.append(_const_text(elt))
        return out
    return None


def _const_text(node):
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
        return _const_text(node.left)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _const_text(node.left)
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant) else "X" for v in node.values)
    return None


SCRIPT_VARIABLES = {"script", "cmds", "commands", "shell_lines"}


def python_uses(path, source):
    """Programs a Python file runs: argv lists and command lines handed to runners, module-level
    constants used as argv[0] (``SSHD = "/usr/sbin/sshd"``), lists of shell lines kept in a variable
    named like ``script``, and tools a file looks up with ``shutil.which`` in a loop."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    names = dict((t.id, n.value.value) for n in tree.body if isinstance(n, ast.Assign)
                 for t in n.targets if isinstance(t, ast.Name)
                 and isinstance(n.value, ast.Constant) and isinstance(n.value.value, str))
    uses = []
    for node in ast.walk(tree):
        if isinstance(node, ast.For) and isinstance(node.iter, (ast.List, ast.Tuple)) \
                and "which(" in ast.unparse(node):
            uses += [Use(w, path, node.lineno) for w in _const_words(node.iter) if w and NAME.match(w)]
            continue
        target = None
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            target, value = node.targets[0].id, node.value
        elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
            target, value = node.target.id, node.value
        if target in SCRIPT_VARIABLES and isinstance(value, (ast.List, ast.Tuple)):
            for line in _const_words(value) or []:
                if line:
                    uses += [Use(p, path, node.lineno) for p in shell_programs(line)]
            continue
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
        if name == "call" and isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) \
                and func.value.id == "subprocess":
            name = "run"
        if name not in RUNNERS:
            continue
        for arg in node.args:
            words = _const_words(arg, names)
            if words and words[0]:
                if words[0] in ("/bin/sh", "sh", "bash", "/bin/bash") and len(words) > 2 and words[1] == "-c" \
                        and words[2]:
                    uses += [Use(p, path, arg.lineno) for p in shell_programs(words[2])]
                    continue
                prog = unwrap(words)
                if prog:
                    uses.append(Use(prog, path, arg.lineno))
                continue
            text = _const_text(arg)
            if text is not None and arg is node.args[0] and " " in text.strip():
                uses += [Use(p, path, arg.lineno) for p in shell_programs(text)]
    return uses


def _logical_lines(text):
    line_no, buf, start = 0, "", 1
    for raw in text.splitlines():
        line_no += 1
        if not buf:
            start = line_no
        if raw.rstrip().endswith("\\"):
            buf += raw.rstrip()[:-1] + " "
            continue
        buf += raw
        yield start, buf
        buf = ""
    if buf:
        yield start, buf


def _balanced(text):
    try:
        shlex.split(text, comments=True)
        return True
    except ValueError:
        return False


def shell_uses(path, text, makefile=False):
    uses = []
    heredoc = None
    functions = set(re.findall(r"(?m)^\s*(?:function\s+)?([A-Za-z_][\w-]*)\s*\(\)", text))
    if makefile:
        text = re.sub(r"\$[({]([A-Za-z_][A-Za-z0-9_]*)[)}]", r"$\1", text)
    pending, pending_no = "", 0
    for line_no, line in _logical_lines(text):
        if pending:
            line, line_no = pending + "\n" + line, pending_no
            pending = ""
        if not heredoc and not _balanced(line) and line.count("\n") < 40:
            pending, pending_no = line, line_no
            continue
        stripped = line.strip()
        if heredoc:
            if stripped == heredoc:
                heredoc = None
            continue
        found = re.search(r"(?<!<)<<-?\s*'?\"?([A-Za-z_]+)'?\"?", line)
        if found:
            heredoc = found.group(1)
            line = line[:found.start()]
        if makefile:
            if not line.startswith("\t"):
                continue
            line = line.lstrip("\t").lstrip("@-+")
        elif stripped.startswith("#") or not stripped:
            continue
        # a shell function definition line names no program
        line = re.sub(r"^\s*[A-Za-z_][A-Za-z0-9_]*\s*\(\)\s*\{?", "", line)
        for prog in shell_programs(line):
            if prog not in functions:
                uses.append(Use(prog, path, line_no))
    return uses


def yaml_uses(path, text):
    import yaml  # noqa: local: only YAML files need it
    try:
        docs = list(yaml.safe_load_all(text))
    except yaml.YAMLError:
        return []
    uses = []

    def walk(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("ansible.builtin.command", "command", "ansible.builtin.shell", "shell",
                           "ansible.builtin.raw", "raw"):
                    if isinstance(value, str):
                        uses.extend(Use(p, path, 0) for p in shell_programs(value) if "{{" not in p)
                    elif isinstance(value, dict):
                        if isinstance(value.get("cmd"), str):
                            uses.extend(Use(p, path, 0) for p in shell_programs(value["cmd"]) if "{{" not in p)
                        argv = value.get("argv")
                        if isinstance(argv, list) and argv and isinstance(argv[0], str) and "{{" not in argv[0]:
                            prog = unwrap([a if isinstance(a, str) else None for a in argv])
                            if prog:
                                uses.append(Use(prog, path, 0))
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)
    for doc in docs:
        walk(doc)
    return uses


def tracked_files(root):
    try:
        out = subprocess.run(["git", "-C", root, "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                             capture_output=True, check=True).stdout.decode()
        return [f for f in out.split("\0") if f]
    except (OSError, subprocess.CalledProcessError):
        return [os.path.relpath(os.path.join(d, f), root) for d, _dirs, files in os.walk(root) for f in files]


def collect(root):
    uses = []
    for rel in tracked_files(root):
        full = os.path.join(root, rel)
        if not os.path.isfile(full) or "/fixtures/" in "/" + rel:
            continue
        try:
            with open(full, encoding="utf-8") as f:
                text = f.read()
        except (UnicodeDecodeError, OSError):
            continue
        base = os.path.basename(rel)
        if rel.endswith(".py"):
            uses += python_uses(rel, text)
        elif rel.endswith(".sh") or text.startswith("#!/bin/sh") or text.startswith("#!/usr/bin/env bash") \
                or text.startswith("#!/bin/bash"):
            uses += shell_uses(rel, text)
        elif base == "Makefile":
            uses += shell_uses(rel, text, makefile=True)
        elif rel.endswith((".yml", ".yaml")):
            uses += yaml_uses(rel, text)
    return uses


# ---------------------------------------------------------------- packages

def dpkg_owners():
    """{absolute path: package} from dpkg's file lists (both sides of the /usr merge)."""
    owners = {}
    for listing in glob.glob("/var/lib/dpkg/info/*.list"):
        pkg = os.path.basename(listing)[:-len(".list")].split(":")[0]
        with open(listing, encoding="utf-8", errors="replace") as f:
            for line in f:
                p = line.rstrip("\n")
                owners[p] = pkg
                if p.startswith("/usr/"):
                    owners.setdefault(p[4:], pkg)
                else:
                    owners.setdefault("/usr" + p, pkg)
    return owners


def closure(names):
    """The packages ``names`` bring with Depends and Pre-Depends (installed versions), plus Essential/required."""
    import apt  # python3-apt (requirements/apt.txt)
    cache = apt.Cache()
    todo, seen = list(names), set()
    for pkg in cache:
        ver = pkg.installed or pkg.candidate
        if pkg.essential or (ver is not None and ver.priority == "required"):
            todo.append(pkg.shortname)
    missing = []
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        if name not in cache:
            missing.append(name)
            continue
        pkg = cache[name]
        ver = pkg.installed or pkg.candidate
        if ver is None:
            providers = [v.package.shortname for v in cache.get_providing_packages(name, include_nonvirtual=False)] \
                if hasattr(cache, "get_providing_packages") else []
            todo += providers
            continue
        for dep in ver.get_dependencies("Depends", "PreDepends"):
            # an alternative (a | b): whichever is installed, else the first
            chosen = [o.name for o in dep.or_dependencies if o.name in cache and cache[o.name].installed]
            todo += chosen[:1] or [dep.or_dependencies[0].name]
    return seen, missing


def read_apt(path):
    with open(path, encoding="utf-8") as f:
        return [ln.split("#", 1)[0].strip() for ln in f if ln.split("#", 1)[0].strip()]


def check(root, apt_file):
    uses = collect(root)
    owners = dpkg_owners()
    listed = read_apt(apt_file)
    allowed, _missing = closure(listed)
    venv = os.path.join(root, ".venv", "bin")
    problems, seen = [], {}
    for use in uses:
        prog = use.program
        if not prog or prog in SHELL_WORDS or prog.startswith(("$", "{{", "-")) or "{" in prog or "%" in prog:
            continue
        if "/" in prog and not prog.startswith("/"):
            continue            # a file of the tree (scripts/x.sh, .venv/bin/pytest, ...)
        if prog in OPTIONAL:
            continue
        key = prog
        if key in seen:
            seen[key].append(use)
            continue
        seen[key] = [use]
    for prog, where in sorted(seen.items()):
        at = ", ".join(sorted({"%s:%d" % (u.path, u.line) if u.line else u.path for u in where})[:3])
        if prog.startswith("/"):
            paths = [prog]
        else:
            paths = [os.path.join(d, prog) for d in STANDARD_PATH]
            if os.path.exists(os.path.join(venv, prog)):
                continue        # the virtualenv's program (requirements/control.txt)
        owner = next((owners[p] for p in paths if p in owners), None)
        if owner is None:       # an alternative (awk -> mawk, ovs-vswitchd -> its dpdk/plain variant)
            owner = next((owners[os.path.realpath(p)] for p in paths
                          if os.path.exists(p) and os.path.realpath(p) in owners), None)
        if owner is None:
            present = [p for p in paths if os.path.exists(p)]
            if present:
                problems.append("%s (%s, run at %s) belongs to no Debian package: setup does not install it"
                                % (prog, present[0], at))
            else:
                problems.append("%s (run at %s) is not installed here and no package of %s brings it: "
                                "add its package to %s" % (prog, at, os.path.basename(apt_file), apt_file))
            continue
        if owner not in allowed:
            problems.append("%s (run at %s) comes from the Debian package %s, which %s does not install "
                            "(nor any package it depends on, nor Debian's required set): add %s to %s"
                            % (prog, at, owner, os.path.basename(apt_file), owner, apt_file))
    return sorted(seen), problems


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("root", nargs="?", default=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    parser.add_argument("--apt", help="the package list to check against (default: ROOT/requirements/apt.txt)")
    parser.add_argument("--list", action="store_true", help="print every program found and where")
    args = parser.parse_args(argv)
    apt_file = args.apt or os.path.join(args.root, "requirements", "apt.txt")
    programs, problems = check(args.root, apt_file)
    if args.list:
        print("\n".join(programs))
    if problems:
        print("programs: %d run by the tree, %d not installed by setup:" % (len(programs), len(problems)))
        for p in problems:
            print("  - " + p)
        return 1
    print("programs: all %d programs the tree runs come from packages setup installs (%s)"
          % (len(programs), apt_file))
    return 0


if __name__ == "__main__":
    sys.exit(main())
