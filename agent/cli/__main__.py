"""``python -m agent.cli``: the same as the ``ibagent`` command."""
import sys

from agent.cli import main

sys.exit(main())
