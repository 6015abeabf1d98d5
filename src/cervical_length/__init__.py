"""cervical-length: cervical length on transvaginal ultrasound, and decision support for cervical insufficiency.

Decision support for a clinician, not a diagnosis.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("cervical-length")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = ["__version__"]
