"""Offline replacement for the get-pip bootstrap script that ansible-test downloads.

ansible-test bootstraps pip in the virtual environments it creates by running a
get-pip script that it downloads from a host this project's machines cannot reach,
unless the script is already cached at ~/.ansible/test/cache/get_pip_<version>.py.
The Makefile copies this file there under that name.

Called like get-pip: ``python get_pip_X_Y.py [pip options] pip==X.Y [setuptools==...]
[--no-setuptools] [--no-wheel]``. It installs the bundled pip with the standard
library's ensurepip, then lets that pip install the requested packages from the
package index configured on the machine (pip.conf, PIP_* variables).
"""

import os
import re
import subprocess
import sys

# get-pip options that pip itself does not know
GET_PIP_ONLY = {"--no-setuptools", "--no-wheel", "--no-pip"}


def main():
    args = [arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY]
    packages = [arg for arg in args if not arg.startswith("-")]

    # ensurepip points PIP_CONFIG_FILE at /dev/null for the pip it runs, which only
    # matters inside that child; it installs from wheels bundled with Python.
    subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade", "--default-pip"], stdout=subprocess.DEVNULL)

    # Python < 3.12's ensurepip also installs setuptools, whose distutils-precedence.pth
    # then breaks tools that ansible-test runs with their own PYTHONPATH: honour
    # --no-setuptools like get-pip does.
    wants_setuptools = any(re.split(r"[<>=!~;\[ ]", pkg)[0].lower() == "setuptools" for pkg in packages)
    if "--no-setuptools" in sys.argv[1:] and not wants_setuptools:
        subprocess.call(
            [sys.executable, "-m", "pip", "uninstall", "--yes", "--quiet", "--disable-pip-version-check", "setuptools"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,  # "Skipping setuptools as it is not installed" on Python >= 3.12
        )

    if packages:
        # the caller's environment as it is, so that /etc/pip.conf and PIP_* settings apply
        env = dict(os.environ)
        if env.get("PIP_CONFIG_FILE") == os.devnull:
            del env["PIP_CONFIG_FILE"]
        subprocess.check_call([sys.executable, "-m", "pip", "install", "--upgrade"] + args, env=env)


if __name__ == "__main__":
    main()
