"""IRIs of the xAPI Serious Games vocabulary (xAPI-SG) that the LRS's own code reads.

The profile itself (its verbs, activity types and templates) is data: ``profiles/``.
"""

SG = "https://w3id.org/xapi/seriousgames"
SG_EXTENSIONS = f"{SG}/extensions/"
SG_PROGRESS = f"{SG_EXTENSIONS}progress"  # result extension: progress in a completable, 0..1
