Invariant: cds-resp-1
Description: "only one action can be suggested if selectionBehavior = at-most-one"
* severity = #error
* expression = "(selectionBehavior = 'at-most-one') implies suggestions.where(isRecommended).count() <= 1"
Invariant: cds-resp-2
Description: "A resourceId not a resource must be provided when type = delete"
* severity = #warning
* expression = "(type = 'delete') implies (resourceId.exists() and resource.empty())"
Invariant: cds-resp-3
Description: "AppContext only for smart Apps"
* severity = #error
* expression = "(type != 'smart') implies (appContext.empty())"
Invariant: cds-resp-4
Description: "the CDS Service MUST populate a display value for each reason's Coding"
* severity = #error
* expression = "all(display.exists())"
Invariant: cds-resp-5
Description: "All suggestion actions must have a description"
* severity = #error
* expression = "actions.all(description.exists())"
Invariant: cds-resp-6
Description: "If suggestions are present, selectionBehavior MUST also be provided."
* severity = #error
* expression = "suggestions.exists() implies selectionBehavior.exists()"
Invariant: cds-resp-7
Description: "actionSelectionBehavior must be 'all', 'any', or 'at-most-one'"
* severity = #error
* expression = "actionSelectionBehavior.empty() or actionSelectionBehavior = 'all' or actionSelectionBehavior = 'any' or actionSelectionBehavior = 'at-most-one'"

