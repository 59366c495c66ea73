#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "serverlesspresso.settings.development")
    from django.core.management import execute_from_command_line

    from serverlesspresso import var_dir_ensure

    var_dir_ensure()
    execute_from_command_line(sys.argv)
