"""Imported first by a child process, before its heavy imports: from here on Ctrl-C is the parent's.

The analysis fork server preloads this ahead of numpy and scipy (seconds of
imports), so a Ctrl-C in the terminal, which reaches every process of the
group, no longer kills it with a traceback; the workers forked from it inherit
the setting. The parent stops them.
"""

import signal

signal.signal(signal.SIGINT, signal.SIG_IGN)
