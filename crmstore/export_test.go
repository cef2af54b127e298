package crmstore

// TimelineFirstPage is the query of a timeline's first page, for the test of its plan.
const TimelineFirstPage = timelineFirstPage

// NewID returns a new UUIDv7 string.
var NewID = newID

// RefreshReportsBefore is RefreshReports for the buckets that start before a time, as the rollup job runs it.
var RefreshReportsBefore = (*Store).refreshReports
