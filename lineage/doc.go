// Package lineage emits OpenLineage events at run time: transports
// (console, file, HTTP to a Marquez-compatible /api/v1/lineage, Kafka), an
// asynchronous emitter that never fails or stalls the pipeline, and a run
// lifecycle helper. The events are those of package
// rtsap.dev/rtsapc/backends/openlineage/ol; the static facets (schemas,
// column lineage, job type, ownership) come from the job.json the
// openlineage backend writes for each pipeline.
//
// # Use from a runtime (the Beam runtime)
//
//	t, err := lineage.FromEnv(nil)             // RTSAPC_LINEAGE, RTSAPC_OPENLINEAGE_URL or OPENLINEAGE_URL; none if unset
//	if err != nil { … }                        // a bad setting: report it, then run without lineage
//	em := lineage.NewEmitter(t, lineage.EmitterOptions{})
//	run, err := lineage.StartRun(em, lineage.RunConfig{Job: jobJSON, EngineVersion: "2.77.0",
//		Parent: lineage.ParentFromEnv(nil, "")})   // OPENLINEAGE_PARENT_ID=ns/job/runid, e.g. from Argo
//	if err != nil { … }                        // jobJSON unreadable: nothing emitted
//	…                                          // START sent; RUNNING every minute if STREAMING
//	switch {
//	case ctx.Err() != nil: run.Abort()         // cancelled
//	case err != nil:       run.Fail(err)       // errorMessage facet
//	default:               run.Complete()
//	}
//	em.Close(ctxWithTimeout)                   // flush what is queued, bounded by the context
//
// or, in one call, with the same outcome rules:
//
//	err = lineage.Track(ctx, em, lineage.RunConfig{Job: jobJSON}, func(ctx context.Context) error {
//		return beamrt.Run(ctx, pipeline, opts)
//	})
//
// RunConfig.Stats, when set, reports rows (and bytes) read and written per
// dataset; the counts ride on RUNNING and terminal events as the
// inputStatistics and outputStatistics facets. Name the datasets as the
// static events do: openlineage.Dataset(&connector, env) of the source or
// sink node.
//
// jobJSON is the content of <pipeline>/openlineage/job.json (the Beam
// backend embeds it, or calls openlineage.Build at generation time).
//
// # Guarantees
//
//   - Emit and the Run methods never block on the transport: an event costs
//     its JSON encoding and a non-blocking send on a bounded queue (default
//     1024). When the queue is full the event is dropped and counted
//     (Emitter.Stats().Dropped); a transport error after retries is counted
//     as Failed and passed to EmitterOptions.OnError, never returned.
//   - A transport that panics is recovered; a nil *Emitter drops
//     everything, so code paths need no "lineage on?" checks.
//   - Close delivers what is queued until its context ends, then cancels
//     the in-flight send.
//   - HTTP: POST application/json, per-attempt timeout (5s), up to 3
//     retries with exponential backoff (200ms doubling, at most 5s) on
//     network errors, 429 and 5xx; an API key from the environment
//     variable HTTPConfig.APIKeyEnv as "Authorization: Bearer …".
//   - Kafka: franz-go producer, one record per event keyed by job, so a
//     job's events keep their order.
package lineage
