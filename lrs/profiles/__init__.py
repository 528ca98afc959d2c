"""xAPI Profiles engine: Statement Templates, rules, Patterns. Pure, like ``lrs.xapi``.

``load_profile(name)`` gives a ``Profile``; ``Profile.check(statement)`` lists
its ``Violation``s; ``lifecycle.report`` walks statements through a profile's
primary Pattern.
"""

from lrs.profiles.profile import Profile, ProfileError, Template, Violation
from lrs.profiles.registry import BUILTIN, ENFORCEMENTS, check_enforcement, load_profile

__all__ = [
    "BUILTIN", "ENFORCEMENTS", "Profile", "ProfileError", "Template", "Violation", "check_enforcement", "load_profile",
]
