"""fmstack: a self-hosted platform for applications on foundation models.

from fmstack import Fmstack
fm = Fmstack()
print(fm.generate("Hello").text)
"""

from .config import Settings
from .errors import FmstackError
from .models import ChatResult, GenerationParams, Message
from .sdk import Fmstack

__version__ = "0.1.0"
__all__ = ["ChatResult", "Fmstack", "FmstackError", "GenerationParams", "Message", "Settings", "__version__"]
