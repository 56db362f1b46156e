package cli

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"rtsap.dev/rtsapc/backends"
	"rtsap.dev/rtsapc/backends/beamgo"
	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/internal/market"
	"rtsap.dev/rtsapc/runtime/beamrt"
)

func init() {
	register(&Command{
		Name:  "run",
		Usage: "rtsapc run [--pipeline NAME] [--events N | --duration D] [--brokers LIST] [--seed S] [--rate R] [--out DIR] [--lineage DEST] PATH",
		Short: "run a pipeline locally on Beam's Prism runner with an embedded Kafka",
		Long: `Run compiles the spec at PATH and runs one pipeline in-process on Beam's
Prism runner. Unless --brokers is given it starts an in-process Kafka
broker (kfake), creates the source topics and feeds them from a synthetic
market: seeded random-walk trades, quotes or news laid out as each
source's schema, arriving out of order within the declared bound.

With --events N (default 20000 per source) the feed is written first and
the pipeline reads to the end and stops, flushing every window. With
--duration D the feed runs at --rate events per second while the pipeline
runs, and both stop after D.

Sinks write JSON lines under --out/<pipeline>/ (default out/run); progress
goes to stderr and a preview of each sink's rows to stdout.

The run emits OpenLineage events: START, RUNNING every --lineage-interval
for a streaming pipeline, then COMPLETE, FAIL (with the error) or ABORT
(interrupted), with the job and datasets 'rtsapc lineage' declares (same
--env and --set) and the rows each source and sink saw. --lineage picks the
destination: console, file:PATH, http(s)://HOST[/ENDPOINT], kafka://BROKERS/TOPIC
or off. Without it: RTSAPC_LINEAGE, RTSAPC_OPENLINEAGE_URL or OPENLINEAGE_URL
(OPENLINEAGE_DISABLED=true for none), else the --env environment's
targets.openlineage.url, else --out/<pipeline>/openlineage.jsonl. A slow or
unreachable receiver never fails or slows the run.`,
		Flags: func(fs *flag.FlagSet) {
			fs.String("pipeline", "", "pipeline to run (required when the spec has several)")
			fs.Int("events", 0, "events per source, then stop (default 20000 without --duration)")
			fs.Duration("duration", 0, "run for this long with a live feed")
			fs.String("brokers", "", "use this Kafka instead of an embedded one (no feed is written)")
			fs.Int64("seed", 1, "feed seed")
			fs.Float64("rate", 100, "events per second of event time (and of wall time with --duration)")
			fs.String("out", "out/run", "output directory")
			fs.Int("preview", 5, "rows to preview per sink")
			fs.String("env", "", "environment overlay to apply")
			fs.String("lineage", "", "OpenLineage destination: console, file:PATH, http(s)://…, kafka://…/TOPIC or off (default: environment, else a file under --out)")
			fs.Duration("lineage-interval", time.Minute, "period of RUNNING events of a streaming pipeline")
			fs.Var(&settingsFlag{}, "set", "setting key=value (repeatable), as for lineage: openlineage.namespace, …")
		},
		Run: runRun,
	})
}

func runRun(ctx context.Context, env *Env, fs *flag.FlagSet, args []string) int {
	get := func(n string) string { return fs.Lookup(n).Value.String() }
	events := fs.Lookup("events").Value.(flag.Getter).Get().(int)
	duration := fs.Lookup("duration").Value.(flag.Getter).Get().(time.Duration)
	seed := fs.Lookup("seed").Value.(flag.Getter).Get().(int64)
	rate := fs.Lookup("rate").Value.(flag.Getter).Get().(float64)
	preview := fs.Lookup("preview").Value.(flag.Getter).Get().(int)
	if events < 0 || duration < 0 || rate <= 0 {
		fmt.Fprintf(env.Stderr, "rtsapc run: --events, --duration and --rate must be positive\n")
		return ExitUsage
	}
	if events > 0 && duration > 0 {
		fmt.Fprintf(env.Stderr, "rtsapc run: give --events or --duration, not both\n")
		return ExitUsage
	}
	if events == 0 && duration == 0 {
		events = 20000
	}
	if len(args) > 1 {
		fmt.Fprintf(env.Stderr, "rtsapc run: one PATH, got %d\n", len(args))
		return ExitUsage
	}
	start := time.Now()
	prog, f, ds := loadAndCompile(env, loadOptions{Env: get("env")}, args)
	if ds.HasErrors() || prog == nil {
		printDiagnostics(env, f, ds, "text")
		return ExitError
	}
	pl, msg := pickPipeline(prog, get("pipeline"))
	if pl == nil {
		fmt.Fprintf(env.Stderr, "rtsapc run: %s\n", msg)
		return ExitUsage
	}
	if cds := beamgo.Check(pl); cds.HasErrors() {
		printDiagnostics(env, f, cds, "text")
		fmt.Fprintf(env.Stderr, "rtsapc run: pipeline %q cannot run on the Beam runtime\n", pl.Name)
		return ExitError
	}
	outDir := filepath.Join(env.abs(get("out")), beamrt.SafeFileName(pl.Name))
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		fmt.Fprintf(env.Stderr, "rtsapc run: %v\n", err)
		return ExitError
	}
	for _, n := range pl.Sinks() {
		_ = os.Remove(filepath.Join(outDir, beamrt.SinkFileName(n)))
	}
	_ = os.Remove(filepath.Join(outDir, lineageFile))
	olOpts := &backends.Options{Version: Version, Settings: fs.Lookup("set").Value.(*settingsFlag).m}
	for _, e := range prog.Environments {
		if get("env") != "" && e.Name == get("env") {
			olOpts.Env = e
		}
	}
	lin, linDest, linUsage, linErr := openRunLineage(env, prog, pl, olOpts, get("lineage"), outDir)
	if linErr != nil {
		if linUsage {
			fmt.Fprintf(env.Stderr, "rtsapc run: --lineage: %v\n", linErr)
			return ExitUsage
		}
		fmt.Fprintf(env.Stderr, "rtsapc run: lineage off: %v\n", linErr)
	}
	if lin != nil {
		lin.Interval = fs.Lookup("lineage-interval").Value.(flag.Getter).Get().(time.Duration)
		defer func() {
			lin.Close(5 * time.Second)
			if msg := lineageReport(lin, linDest); msg != "" {
				fmt.Fprintln(env.Stderr, msg)
			}
		}()
	}

	// Prism and the SDK log every job step at INFO; keep warnings only.
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	defer slog.SetDefault(prev)

	brokers := get("brokers")
	// Only Kafka sources are fed by the synthetic market; files, S3 and
	// HTTP feeds are read where their connector (or --set) points.
	var sources []*ir.Node
	for _, n := range pl.Sources() {
		if n.Op.(*ir.Source).Connector.Kind == "kafka" {
			sources = append(sources, n)
		}
	}
	var feedErr chan error
	if brokers == "" {
		topics := map[string]bool{}
		for _, n := range sources {
			topics[beamrt.Topic(&n.Op.(*ir.Source).Connector)] = true
		}
		var names []string
		for t := range topics {
			names = append(names, t)
		}
		sort.Strings(names)
		c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, names...))
		if err != nil {
			fmt.Fprintf(env.Stderr, "rtsapc run: embedded Kafka: %v\n", err)
			return ExitError
		}
		defer c.Close()
		brokers = strings.Join(c.ListenAddrs(), ",")
		cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.ProducerLinger(5*time.Millisecond))
		if err != nil {
			fmt.Fprintf(env.Stderr, "rtsapc run: %v\n", err)
			return ExitError
		}
		defer cl.Close()
		feed := func(n int) error {
			for i, src := range sources {
				op := src.Op.(*ir.Source)
				fd := market.NewFeed(op.Schema, op.EventTime, market.Config{Seed: seed + int64(i), Rate: rate,
					MaxOutOfOrder: op.MaxOutOfOrderness})
				enc, err := fd.NewEncoder(op.Connector.Format)
				if err != nil {
					return fmt.Errorf("source %q: %v", src.Name, err)
				}
				if _, err := market.Produce(ctx, cl, beamrt.Topic(&op.Connector), fd, enc, n, false); err != nil {
					return fmt.Errorf("feeding %q: %v", src.Name, err)
				}
			}
			return nil
		}
		if events > 0 {
			if err := feed(events); err != nil {
				fmt.Fprintf(env.Stderr, "rtsapc run: %v\n", err)
				return ExitError
			}
			fmt.Fprintf(env.Stderr, "fed %d events to each of %d topics on the embedded Kafka (%s)\n", events, len(names), time.Since(start).Round(time.Millisecond))
		} else {
			feedErr = make(chan error, 1)
			go func() { feedErr <- liveFeed(ctx, cl, sources, seed, rate, duration) }()
		}
	}

	beamrt.ResetProgress()
	beamrt.ResetWatermarks()
	beamrt.ResetSources()
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	olRun := lin.Start()
	go func() {
		done <- beamrt.Run(runCtx, pl, beamrt.Options{Brokers: brokers, Bounded: events > 0, OutDir: outDir, StartOffset: "earliest"})
	}()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var stopAt <-chan time.Time
	if duration > 0 {
		stopAt = time.After(duration)
	}
	var runErr error
loop:
	for {
		select {
		case runErr = <-done:
			break loop
		case <-stopAt:
			beamrt.StopSources()
		case <-ctx.Done():
			beamrt.StopSources()
		case <-tick.C:
			if env.IsTerminal {
				fmt.Fprintf(env.Stderr, "\r%s", progressLine(pl))
			}
		}
	}
	if env.IsTerminal {
		fmt.Fprintln(env.Stderr)
	}
	// Interrupted (ctx) → ABORT, even when the stopped sources let the
	// pipeline drain cleanly; --duration reaching its end → COMPLETE.
	olRun.End(ctx, runErr)
	if feedErr != nil {
		if err := <-feedErr; err != nil && ctx.Err() == nil {
			fmt.Fprintf(env.Stderr, "rtsapc run: feed: %v\n", err)
		}
	}
	if runErr != nil {
		fmt.Fprintf(env.Stderr, "rtsapc run: %s\n", firstLines(runErr.Error(), 6))
		return ExitError
	}
	printProgress(env.Stderr, pl, time.Since(start))
	printPreview(env, pl, outDir, preview)
	return ExitOK
}

func pickPipeline(prog *ir.Program, name string) (*ir.Pipeline, string) {
	var names []string
	for _, p := range prog.Pipelines {
		names = append(names, p.Name)
	}
	if name != "" {
		if p := prog.Pipeline(name); p != nil {
			return p, ""
		}
		return nil, fmt.Sprintf("no pipeline %q (have %s)", name, strings.Join(names, ", "))
	}
	switch len(prog.Pipelines) {
	case 0:
		return nil, "the spec declares no pipeline"
	case 1:
		return prog.Pipelines[0], ""
	}
	return nil, fmt.Sprintf("the spec declares %d pipelines; choose one with --pipeline (%s)", len(names), strings.Join(names, ", "))
}

// liveFeed writes each source's feed at rate events per second until d.
func liveFeed(ctx context.Context, cl *kgo.Client, sources []*ir.Node, seed int64, rate float64, d time.Duration) error {
	type src struct {
		topic string
		fd    *market.Feed
		enc   market.Encoder
	}
	var srcs []src
	now := time.Now().UTC().Truncate(time.Second)
	for i, n := range sources {
		op := n.Op.(*ir.Source)
		fd := market.NewFeed(op.Schema, op.EventTime, market.Config{Seed: seed + int64(i), Rate: rate,
			MaxOutOfOrder: op.MaxOutOfOrderness, Start: now})
		enc, err := fd.NewEncoder(op.Connector.Format)
		if err != nil {
			return err
		}
		srcs = append(srcs, src{beamrt.Topic(&op.Connector), fd, enc})
	}
	const tick = 50 * time.Millisecond
	per := max(1, int(rate*tick.Seconds()))
	t := time.NewTicker(tick)
	defer t.Stop()
	end := time.After(d)
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-end:
			return nil
		case <-t.C:
			for _, s := range srcs {
				if _, err := market.Produce(ctx, cl, s.topic, s.fd, s.enc, per, false); err != nil {
					return err
				}
			}
		}
	}
}

func progressLine(pl *ir.Pipeline) string {
	var parts []string
	for _, p := range beamrt.Progress() {
		if pl.Lookup(p.Node) == nil {
			continue
		}
		parts = append(parts, fmt.Sprintf("%s %d→%d", p.Node, p.In, p.Out))
	}
	return strings.Join(parts, "  ")
}

func printProgress(w io.Writer, pl *ir.Pipeline, took time.Duration) {
	byName := map[string]beamrt.NodeProgress{}
	for _, p := range beamrt.Progress() {
		byName[p.Node] = p
	}
	fmt.Fprintf(w, "pipeline %s finished in %s\n", pl.Name, took.Round(time.Millisecond))
	fmt.Fprintf(w, "  %-24s %-10s %10s %10s %8s  %s\n", "node", "op", "in", "out", "bad", "watermark")
	for _, n := range pl.Nodes {
		p := byName[n.Name]
		wm := ""
		if p.WatermarkUnix != 0 {
			wm = time.UnixMilli(p.WatermarkUnix).UTC().Format(time.RFC3339)
		}
		bad := ""
		if p.Bad > 0 {
			bad = fmt.Sprint(p.Bad)
		}
		in := fmt.Sprint(p.In)
		if _, ok := n.Op.(*ir.Source); ok {
			in = fmt.Sprint(p.In) // records read
		}
		fmt.Fprintf(w, "  %-24s %-10s %10s %10d %8s  %s\n", trunc(n.Name, 24), opKind(n.Op), in, p.Out, bad, wm)
	}
}

func opKind(op ir.Op) string {
	return strings.ToLower(fmt.Sprintf("%T", op)[len("*ir."):])
}

func trunc(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

func printPreview(env *Env, pl *ir.Pipeline, dir string, n int) {
	for _, s := range pl.Sinks() {
		path := filepath.Join(dir, beamrt.SinkFileName(s))
		f, err := os.Open(path)
		if err != nil {
			fmt.Fprintf(env.Stdout, "sink %s: no rows\n", s.Name)
			continue
		}
		var lines []string
		count := 0
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		for sc.Scan() {
			if count < n {
				lines = append(lines, sc.Text())
			}
			count++
		}
		f.Close()
		rel, _ := filepath.Rel(env.Dir, path)
		if rel == "" || strings.HasPrefix(rel, "..") {
			rel = path
		}
		fmt.Fprintf(env.Stdout, "sink %s: %d rows → %s\n", s.Name, count, rel)
		for _, l := range lines {
			fmt.Fprintf(env.Stdout, "  %s\n", l)
		}
	}
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	if len(lines) > n {
		lines = append(lines[:n], "…")
	}
	return strings.Join(lines, "\n")
}
