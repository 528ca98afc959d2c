"""Example statements and objects copied from the xAPI 1.0.3 specification, Part Two: Data
(xAPI-Data.md; © 2013 ADL, Apache License 2.0). Line breaks inside strings, which the spec
adds "for display purposes only", are removed; nothing else is changed.
"""

from __future__ import annotations

import json
from typing import Any

SIMPLEST = """{
    "id": "12345678-1234-5678-1234-567812345678",
    "actor":{"mbox":"mailto:xapi@adlnet.gov"},
    "verb":{"id":"http://adlnet.gov/expapi/verbs/created", "display":{"en-US":"created"}},
    "object":{"id":"http://example.adlnet.gov/xapi/example/activity"}
}"""

VOIDING = """{
    "actor" : {"objectType": "Agent", "name" : "Example Admin", "mbox" : "mailto:admin@example.adlnet.gov"},
    "verb" : {"id":"http://adlnet.gov/expapi/verbs/voided", "display":{"en-US":"voided"}},
    "object" : {"objectType":"StatementRef", "id" : "e05aa883-acaf-40ad-bf54-02c8ce485fb0"}
}"""

STATEMENT_REF_COMMENT = """{
    "actor" : {"objectType": "Agent", "mbox":"mailto:test@example.com"},
    "verb" : {"id":"http://example.com/commented", "display": {"en-US":"commented"}},
    "object" : {"objectType":"StatementRef", "id":"8f87ccde-bb56-4c2e-ab83-44982ef22df0"},
    "result" : {"response" : "Wow, nice work!"}
}"""

SUBSTATEMENT_PLANNED = """{
    "actor": {"objectType": "Agent", "mbox":"mailto:test@example.com"},
    "verb" : {"id":"http://example.com/planned", "display":{"en-US":"planned"}},
    "object": {
        "objectType": "SubStatement",
        "actor" : {"objectType": "Agent", "mbox":"mailto:test@example.com"},
        "verb" : {"id":"http://example.com/visited", "display":{"en-US":"will visit"}},
        "object": {
            "objectType": "Activity",
            "id":"http://example.com/website",
            "definition": {"name" : {"en-US":"Some Awesome Website"}}
        }
    }
}"""

APPENDIX_A_SIMPLE = """{
    "id":"fd41c918-b88b-4b20-a0a5-a4c32391aaa0",
    "timestamp": "2015-11-18T12:17:00+00:00",
    "actor":{"objectType": "Agent", "name":"Project Tin Can API", "mbox":"mailto:user@example.com"},
    "verb":{"id":"http://example.com/xapi/verbs#sent-a-statement", "display":{"en-US":"sent"}},
    "object":{
        "id":"http://example.com/xapi/activity/simplestatement",
        "definition":{
            "name":{"en-US":"simple statement"},
            "description":{"en-US":"A simple Experience API statement. Note that the LRS does not need to have any prior information about the Actor (learner), the verb, or the Activity/object."}
        }
    }
}"""

APPENDIX_A_ATTEMPTED = """{
    "id":"7ccd3322-e1a5-411a-a67d-6a735c76f119",
    "timestamp": "2015-12-18T12:17:00+00:00",
    "actor":{"objectType": "Agent", "name":"Example Learner", "mbox":"mailto:example.learner@adlnet.gov"},
    "verb":{"id":"http://adlnet.gov/expapi/verbs/attempted", "display":{"en-US":"attempted"}},
    "object":{
        "id":"http://example.adlnet.gov/xapi/example/simpleCBT",
        "definition":{"name":{"en-US":"simple CBT course"}, "description":{"en-US":"A fictitious example CBT course."}}
    },
    "result":{"score":{"scaled":0.95}, "success":true, "completion":true, "duration": "PT1234S"}
}"""

APPENDIX_A_LONG = r"""{
    "id": "6690e6c9-3ef0-4ed3-8b37-7f3964730bee",
    "actor": {
        "name": "Team PB",
        "mbox": "mailto:teampb@example.com",
        "member": [
            {"name": "Andrew Downes", "account": {"homePage": "http://www.example.com", "name": "13936749"}, "objectType": "Agent"},
            {"name": "Toby Nichols", "openid": "http://toby.openid.example.org/", "objectType": "Agent"},
            {"name": "Ena Hills", "mbox_sha1sum": "ebd31e95054c018b10727ccffd2ef2ec3a016ee9", "objectType": "Agent"}
        ],
        "objectType": "Group"
    },
    "verb": {"id": "http://adlnet.gov/expapi/verbs/attended", "display": {"en-GB": "attended", "en-US": "attended"}},
    "result": {
        "extensions": {"http://example.com/profiles/meetings/resultextensions/minuteslocation": "X:\\meetings\\minutes\\examplemeeting.one"},
        "success": true,
        "completion": true,
        "response": "We agreed on some example actions.",
        "duration": "PT1H0M0S"
    },
    "context": {
        "registration": "ec531277-b57b-4c15-8d91-d292c5b2b8f7",
        "contextActivities": {
            "parent": [{"id": "http://www.example.com/meetings/series/267", "objectType": "Activity"}],
            "category": [
                {
                    "id": "http://www.example.com/meetings/categories/teammeeting",
                    "objectType": "Activity",
                    "definition": {
                        "name": {"en": "team meeting"},
                        "description": {"en": "A category of meeting used for regular team meetings."},
                        "type": "http://example.com/expapi/activities/meetingcategory"
                    }
                }
            ],
            "other": [
                {"id": "http://www.example.com/meetings/occurances/34257", "objectType": "Activity"},
                {"id": "http://www.example.com/meetings/occurances/3425567", "objectType": "Activity"}
            ]
        },
        "instructor": {"name": "Andrew Downes", "account": {"homePage": "http://www.example.com", "name": "13936749"}, "objectType": "Agent"},
        "team": {"name": "Team PB", "mbox": "mailto:teampb@example.com", "objectType": "Group"},
        "platform" : "Example virtual meeting software",
        "language" : "tlh",
        "statement" : {"objectType":"StatementRef", "id" :"6690e6c9-3ef0-4ed3-8b37-7f3964730bee"}
    },
    "timestamp": "2013-05-18T05:32:34.804+00:00",
    "stored": "2013-05-18T05:32:34.804+00:00",
    "authority": {"account": {"homePage": "http://cloud.scorm.com/", "name": "anonymous"}, "objectType": "Agent"},
    "version": "1.0.0",
    "object": {
        "id": "http://www.example.com/meetings/occurances/34534",
        "definition": {
            "extensions": {"http://example.com/profiles/meetings/activitydefinitionextensions/room": {"name": "Kilby", "id" : "http://example.com/rooms/342"}},
            "name": {"en-GB": "example meeting", "en-US": "example meeting"},
            "description": {
                "en-GB": "An example meeting that happened on a specific occasion with certain people present.",
                "en-US": "An example meeting that happened on a specific occasion with certain people present."
            },
            "type": "http://adlnet.gov/expapi/activities/meeting",
            "moreInfo": "http://virtualmeeting.example.com/345256"
        },
        "objectType": "Activity"
    }
}"""

SIGNED = """{
    "version": "1.0.0",
    "id": "33cff416-e331-4c9d-969e-5373a1756120",
    "actor": {"mbox": "mailto:example@example.com", "name": "Example Learner", "objectType": "Agent"},
    "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced", "display": {"en-US": "experienced"}},
    "object": {
        "id": "https://www.youtube.com/watch?v=xh4kIiH3Sm8",
        "objectType": "Activity",
        "definition": {
            "name": {"en-US": "Tax Tips & Information : How to File a Tax Return "},
            "description": {"en-US": "Filing a tax return will require filling out either a 1040, 1040A or 1040EZ form"}
        }
    },
    "timestamp": "2013-04-01T12:00:00Z",
    "attachments": [
        {
            "usageType": "http://adlnet.gov/expapi/attachments/signature",
            "display": { "en-US": "Signature" },
            "description": { "en-US": "A test signature" },
            "contentType": "application/octet-stream",
            "length": 4235,
            "sha2": "672fa5fa658017f1b72d65036f13379c6ab05d4ab3b6664908d8acf0b6a0c634"
        }
    ]
}"""

# Appendix B: the object of a statement, of each kind.
OBJECT_ACTIVITY = """{
    "id": "http://www.example.co.uk/exampleactivity",
    "definition": {
        "name": {"en-GB": "example activity", "en-US": "example activity"},
        "description": {"en-GB": "An example of an activity", "en-US": "An example of an activity"},
        "type": "http://www.example.co.uk/types/exampleactivitytype"
    },
    "objectType": "Activity"
}"""

OBJECT_AGENT = """{"name": "Andrew Downes", "mbox": "mailto:andrew@example.co.uk", "objectType": "Agent"}"""

OBJECT_GROUP = """{
    "name": "Example Group",
    "account" : {"homePage" : "http://example.com/homePage", "name" : "GroupAccount"},
    "objectType": "Group",
    "member": [
        {"name": "Andrew Downes", "mbox": "mailto:andrew@example.com", "objectType": "Agent"},
        {"name": "Aaron Silvers", "openid": "http://aaron.openid.example.org", "objectType": "Agent"}
    ]
}"""

OBJECT_SUBSTATEMENT = """{
    "objectType": "SubStatement",
    "actor" : {"objectType": "Agent", "mbox":"mailto:agent@example.com"},
    "verb" : {"id":"http://example.com/confirmed", "display":{"en":"confirmed"}},
    "object": {"objectType":"StatementRef", "id" :"9e13cefd-53d3-4eac-b5ed-2cf6693903bb"}
}"""

# Appendix C: the definition of an Activity of each interaction type.
_C = "http://adlnet.gov/expapi/activities/cmi.interaction"
INTERACTIONS: dict[str, dict[str, Any]] = {
    "true-false": {
        "description": {"en-US": "Does the xAPI include the concept of statements?"},
        "type": _C, "interactionType": "true-false", "correctResponsesPattern": ["true"],
    },
    "choice": {
        "description": {"en-US": "Which of these prototypes are available at the beta site?"},
        "type": _C, "interactionType": "choice", "correctResponsesPattern": ["golf[,]tetris"],
        "choices": [
            {"id": "golf", "description": {"en-US": "Golf Example"}},
            {"id": "facebook", "description": {"en-US": "Facebook App"}},
            {"id": "tetris", "description": {"en-US": "Tetris Example"}},
            {"id": "scrabble", "description": {"en-US": "Scrabble Example"}},
        ],
    },
    "fill-in": {
        "description": {"en-US": "Ben is often heard saying: "},
        "type": _C, "interactionType": "fill-in", "correctResponsesPattern": ["Bob's your uncle"],
    },
    "long-fill-in": {
        "description": {"en-US": "What is the purpose of the xAPI?"},
        "type": _C, "interactionType": "long-fill-in",
        "correctResponsesPattern": ["{case_matters=false}{lang=en}To store and provide access to learning experiences."],
    },
    "likert": {
        "description": {"en-US": "How awesome is Experience API?"},
        "type": _C, "interactionType": "likert", "correctResponsesPattern": ["likert_3"],
        "scale": [
            {"id": "likert_0", "description": {"en-US": "It's OK"}},
            {"id": "likert_1", "description": {"en-US": "It's Pretty Cool"}},
            {"id": "likert_2", "description": {"en-US": "It's Damn Cool"}},
            {"id": "likert_3", "description": {"en-US": "It's Gonna Change the World"}},
        ],
    },
    "matching": {
        "description": {"en-US": "Match these people to their kickball team:"},
        "type": _C, "interactionType": "matching",
        "correctResponsesPattern": ["ben[.]3[,]chris[.]2[,]troy[.]4[,]freddie[.]1"],
        "source": [
            {"id": "ben", "description": {"en-US": "Ben"}},
            {"id": "chris", "description": {"en-US": "Chris"}},
            {"id": "troy", "description": {"en-US": "Troy"}},
            {"id": "freddie", "description": {"en-US": "Freddie"}},
        ],
        "target": [
            {"id": "1", "description": {"en-US": "Swift Kick in the Grass"}},
            {"id": "2", "description": {"en-US": "We got Runs"}},
            {"id": "3", "description": {"en-US": "Duck"}},
            {"id": "4", "description": {"en-US": "Van Delay Industries"}},
        ],
    },
    "performance": {
        "description": {"en-US": "This interaction measures performance over a day of RS sports:"},
        "type": _C, "interactionType": "performance", "correctResponsesPattern": ["pong[.]1:[,]dg[.]:10[,]lunch[.]"],
        "steps": [
            {"id": "pong", "description": {"en-US": "Net pong matches won"}},
            {"id": "dg", "description": {"en-US": "Strokes over par in disc golf at Liberty"}},
            {"id": "lunch", "description": {"en-US": "Lunch having been eaten"}},
        ],
    },
    "sequencing": {
        "description": {"en-US": "Order players by their pong ladder position:"},
        "type": _C, "interactionType": "sequencing", "correctResponsesPattern": ["tim[,]mike[,]ells[,]ben"],
        "choices": [
            {"id": "tim", "description": {"en-US": "Tim"}},
            {"id": "ben", "description": {"en-US": "Ben"}},
            {"id": "ells", "description": {"en-US": "Ells"}},
            {"id": "mike", "description": {"en-US": "Mike"}},
        ],
    },
    "numeric": {
        "description": {"en-US": "How many jokes is Chris the butt of each day?"},
        "type": _C, "interactionType": "numeric", "correctResponsesPattern": ["4[:]"],
    },
    "other": {
        "description": {"en-US": "On this map, please mark Franklin, TN"},
        "type": _C, "interactionType": "other", "correctResponsesPattern": ["(35.937432,-86.868896)"],
    },
}

STATEMENTS: dict[str, str] = {
    "2.4 simplest statement": SIMPLEST,
    "2.3.2 voiding": VOIDING,
    "2.4.4.3 statement reference": STATEMENT_REF_COMMENT,
    "2.4.4.3 substatement": SUBSTATEMENT_PLANNED,
    "appendix A simple": APPENDIX_A_SIMPLE,
    "appendix A attempted": APPENDIX_A_ATTEMPTED,
    "appendix A long": APPENDIX_A_LONG,
    "appendix D signed": SIGNED,
}
OBJECTS: dict[str, str] = {
    "activity": OBJECT_ACTIVITY,
    "agent": OBJECT_AGENT,
    "group": OBJECT_GROUP,
    "substatement": OBJECT_SUBSTATEMENT,
}


def load(text: str) -> dict[str, Any]:
    return json.loads(text)
