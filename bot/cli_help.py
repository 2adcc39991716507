"""The texts of `mailflow --help` and of each command's --help: examples and exit codes."""

from __future__ import annotations

from bot.core.paths import config_dir

EXIT_CODES = """\
exit codes:
  0    success (check: no finding of severity error)
  1    check: at least one error finding
  2    usage error, unreadable input or output file, or a broken installation
       (one line on stderr, never a traceback)
  130  interrupted (Ctrl-C)"""

OUTPUT = """\
output:
  The report goes to standard output, or to FILE with --output FILE. On a terminal it is
  coloured: --color auto (default) colours a terminal only, --color always and --color never
  decide for you; NO_COLOR keeps emphasis without colour, FORCE_COLOR colours even a pipe."""

MAIN = f"""\
examples:
  mailflow check contoso.com                     every MX host and address of a domain
  mailflow check --host hybrid.contoso.com       one host, e.g. a connector's smart host
  mailflow diagnose ndr.txt                      explain an NDR, trace, queue error or log
  mailflow diagnose - < queue.txt                the same from standard input
  mailflow diagnose --example postfix-tls.log    a sample incident shipped with mailflow
  mailflow collect onprem                        the read-only script that gathers the configuration
  mailflow serve                                 the Slack bot (settings from the environment)

{EXIT_CODES}

Run `mailflow COMMAND --help` for a command's options."""

CHECK = f"""\
examples:
  mailflow check contoso.com
  mailflow check admin@contoso.com --expect-name hybrid.contoso.com
  mailflow check --host hybrid.contoso.com --attempts 4
  mailflow check contoso.com --json --output contoso.json
  mailflow check contoso.com --dnssec-resolver 127.0.0.53   (trust a validating resolver's AD)
  mailflow check contoso.com --no-policies                  (skip DANE, MTA-STS, TLS-RPT)

On a terminal each address is shown as its attempt starts and a spinner tells what is still
running (on stderr, so the report on stdout stays clean).

{OUTPUT}

{EXIT_CODES}"""

DIAGNOSE = f"""\
examples:
  mailflow diagnose ndr.txt
  mailflow diagnose bounces/ mail.mbox --json        (JSON Lines, one object per message)
  mailflow diagnose bounces/ --jobs 4                (a batch over 4 worker processes)
  mailflow diagnose message-trace.csv --json
  Get-Queue | Format-List > queue.txt; mailflow diagnose queue.txt
  mailflow diagnose - < SMTPReceive20250101-1.LOG
  mailflow diagnose tlsrpt-report.json.gz             (a TLS-RPT report, gzip or not)
  mailflow diagnose --example smtpreceive-server1-self-signed.log
  mailflow diagnose ex01.txt ex02.txt trace.txt --together    (one case, one result)

{OUTPUT}

{EXIT_CODES}"""


COLLECT = """\
examples:
  mailflow collect onprem > collect-onprem.ps1   run it in the Exchange Management Shell
  mailflow collect exo > collect-exo.ps1         run it in Exchange Online PowerShell
  mailflow diagnose mailflow-onprem.json mailflow-exo.json --together

The scripts only read (Get-* cmdlets) and write one JSON file to upload."""


def serve() -> str:
    return f"""\
examples:
  SLACK_BOT_TOKEN=xoxb-... SLACK_SIGNING_SECRET=... mailflow serve     HTTP mode on $PORT
  SLACK_BOT_TOKEN=xoxb-... SLACK_APP_TOKEN=xapp-... mailflow serve      Socket Mode
  mailflow serve                  no Slack credentials: the playground on http://127.0.0.1:$PORT
  mailflow serve --playground     the playground even with credentials (Slack is not contacted)

Every setting is an environment variable (the README's configuration table); a missing or
malformed one, a broken knowledge base or an unusable MAILFLOW_DB stops the start with one
line and exit code 2. SIGTERM or SIGINT stop the bot within a few seconds.
The Slack app manifest to create the app from: {config_dir() / "manifest.yaml"}"""
