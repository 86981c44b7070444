"""Imported first by the analysis fork server, before its heavy imports.

From here on Ctrl-C is the parent's: the fork server preloads this ahead of
numpy and scipy (seconds of imports), so a Ctrl-C in the terminal, which
reaches every process of the group, no longer kills it with a traceback.

And it lets go of the parent's stdout and stderr at once: a fork server still
importing when the command ends would otherwise hold them open for seconds, so
``enrich analyze | tee log`` (or cron collecting the output) waited past the
command's exit. The workers forked from it inherit both settings.
"""

import signal

from enrich.children import silence_native_output

signal.signal(signal.SIGINT, signal.SIG_IGN)
silence_native_output(1, 2)
