// Package fleet loads a NixOS fleet described in CUE, merges its layers
// with provenance, checks it, and explains where every value came from.
//
// A fleet is a CUE package (usually the root of a CUE module) whose files
// describe hosts, host templates, hardware profiles, home-manager profiles
// and users against the fleet schema. Load reads it and returns a Fleet;
// each Host has its final value as Go data and JSON, and Explain tells
// which layer and which file:line:col set any value.
//
// # Layers
//
// A host's value is built from layers, lowest first:
//
//	schema defaults < hardware profile < host template < profiles < host
//
// A higher layer overrides a lower one; the override is recorded, never an
// error. Two entries of the same layer that disagree (two home-manager
// profiles composed for one user) are a conflict naming both positions,
// unless a higher layer sets the field. The merged value is then unified
// once with the schema's #Host, so every constraint is enforced and every
// error points at the user's own files.
package fleet
