"""The `policyd` command line: thin click commands over library calls.

Data goes to stdout, messages to stderr. Exit codes: 0 ok, 1 an error (bad
policy, refused lead, failing example), 2 usage, 3 changes found (`--exit-code`).

This module is the root group; the commands live in one module per job (policy,
store, replay, seed, lottery, daemon) and are gathered here.
"""

from __future__ import annotations

import click

from . import (
    check_cmd,
    daemon_cmds,
    governance_cmds,
    lead_cmds,
    lottery_cmds,
    lsp_cmd,
    map_cmds,
    policy_cmds,
    replay_cmds,
    seed_cmds,
    store_cmds,
)

COMMANDS = (
    check_cmd.check,
    policy_cmds.assign,
    policy_cmds.test_cmd,
    policy_cmds.diff,
    policy_cmds.fmt_cmd,
    store_cmds.publish,
    store_cmds.versions,
    store_cmds.show,
    store_cmds.activate,
    store_cmds.rollback,
    governance_cmds.approve,
    governance_cmds.approvals,
    governance_cmds.schedule,
    replay_cmds.replay,
    replay_cmds.review,
    map_cmds.map_group,
    seed_cmds.seed,
    lottery_cmds.lottery,
    lottery_cmds.distribute,
    daemon_cmds.serve,
    daemon_cmds.token,
    daemon_cmds.audit_cmd,
    lead_cmds.lead,
    lsp_cmd.lsp,
)


@click.group(
    commands=COMMANDS,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(package_name="policyd")
def main() -> None:
    """policyd: fair lead distribution, written as code.

    Write the policy in a .policy file, check it, run its examples, and ask who
    gets a lead and why:

    \b
      policyd check policies/inbound.policy
      policyd test policies/inbound.policy
      policyd assign policies/inbound.policy --lead lead.json
    """
