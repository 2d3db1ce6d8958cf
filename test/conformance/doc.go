// Package conformance drives the TypeScript plugin binary exactly as the Velero server does, through
// Velero's own plugin client (pkg/plugin/clientmgmt): discovery, the plugin manager, AppliesTo,
// Execute and CleanupClients. See README.md in this folder.
package conformance
