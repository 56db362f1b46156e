// Package kafka is the Kafka target: topics (partitions, replication factor,
// topic configs such as retention.ms, cleanup.policy, compression.type and
// remote.storage.enable) managed through franz-go's kadm.
//
// A topic's body is {"partitions": n, "replicationFactor": n, "configs":
// {name: value}}; the live body lists only configs set on the topic itself
// (not broker defaults), so removing a config from the spec deletes it.
package kafka

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"rtsap.dev/rtsapc/plan/target"
)

// Name is the target's name in addresses.
const Name = "kafka"

// Target manages topics in one cluster.
type Target struct {
	cl  *kgo.Client
	adm *kadm.Client
	// Timeout bounds each admin request (0: 15s).
	Timeout time.Duration
}

var (
	_ target.Target   = (*Target)(nil)
	_ target.Replacer = (*Target)(nil)
)

// New connects to the brokers (lazily: the first request dials).
func New(brokers []string, opts ...kgo.Opt) (*Target, error) {
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(brokers...), kgo.RetryTimeout(10 * time.Second)}, opts...)...)
	if err != nil {
		return nil, err
	}
	return &Target{cl: cl, adm: kadm.NewClient(cl)}, nil
}

func (t *Target) Name() string { return Name }
func (t *Target) Close()       { t.cl.Close() }

func (t *Target) ctx(ctx context.Context) (context.Context, context.CancelFunc) {
	d := t.Timeout
	if d <= 0 {
		d = 15 * time.Second
	}
	return context.WithTimeout(ctx, d)
}

func (t *Target) Read(ctx context.Context, rs []*target.Resource) (map[string]map[string]any, error) {
	out := map[string]map[string]any{}
	if len(rs) == 0 {
		return out, nil
	}
	ctx, cancel := t.ctx(ctx)
	defer cancel()
	byTopic := map[string]string{}
	var topics []string
	for _, r := range rs {
		byTopic[r.Name] = r.Addr
		topics = append(topics, r.Name)
	}
	details, err := t.listTopics(ctx, topics...)
	if err != nil {
		return nil, err
	}
	var existing []string
	for _, name := range topics {
		d, ok := details[name]
		if !ok {
			continue
		}
		existing = append(existing, name)
		out[byTopic[name]] = map[string]any{
			"partitions":        json.Number(strconv.Itoa(d.partitions)),
			"replicationFactor": json.Number(strconv.Itoa(d.rf)),
			"configs":           map[string]any{},
		}
	}
	if len(existing) == 0 {
		return out, nil
	}
	rcs, err := t.adm.DescribeTopicConfigs(ctx, existing...)
	if err != nil {
		return nil, err
	}
	for _, rc := range rcs {
		if rc.Err != nil {
			return nil, fmt.Errorf("topic %q configs: %w", rc.Name, rc.Err)
		}
		body := out[byTopic[rc.Name]]
		if body == nil {
			continue
		}
		cfg := body["configs"].(map[string]any)
		for _, c := range rc.Configs {
			// Only what is set on the topic is managed; defaults are not.
			if c.Source != kmsg.ConfigSourceDynamicTopicConfig || c.Value == nil || c.Sensitive {
				continue
			}
			cfg[c.Key] = *c.Value
		}
	}
	return out, nil
}

type spec struct {
	partitions int32
	rf         int16
	configs    map[string]string
}

func parse(body map[string]any) (spec, error) {
	s := spec{partitions: -1, rf: -1, configs: map[string]string{}}
	num := func(k string) (int64, bool, error) {
		v, ok := body[k]
		if !ok || v == nil {
			return 0, false, nil
		}
		switch x := v.(type) {
		case json.Number:
			n, err := x.Int64()
			return n, true, err
		case float64:
			return int64(x), true, nil
		case int:
			return int64(x), true, nil
		case int64:
			return x, true, nil
		}
		return 0, false, fmt.Errorf("%s: not a number: %v", k, v)
	}
	if n, ok, err := num("partitions"); err != nil {
		return s, err
	} else if ok {
		s.partitions = int32(n)
	}
	if n, ok, err := num("replicationFactor"); err != nil {
		return s, err
	} else if ok {
		s.rf = int16(n)
	}
	if m, ok := body["configs"].(map[string]any); ok {
		for k, v := range m {
			sv, ok := v.(string)
			if !ok {
				return s, fmt.Errorf("config %s: want a string, not %v", k, v)
			}
			s.configs[k] = sv
		}
	}
	return s, nil
}

// NeedsReplace: Kafka cannot reduce partitions, and rtsapc does not move
// replicas, so both need the topic deleted and created again — losing its
// records, which the reason says.
func (t *Target) NeedsReplace(r *target.Resource, live map[string]any) (bool, string) {
	want, err1 := parse(r.Body)
	have, err2 := parse(live)
	if err1 != nil || err2 != nil {
		return false, ""
	}
	if want.partitions >= 0 && want.partitions < have.partitions {
		return true, fmt.Sprintf("partitions cannot decrease (%d → %d): the topic is deleted and created again, and its records are lost", have.partitions, want.partitions)
	}
	if want.rf >= 0 && want.rf != have.rf {
		return true, fmt.Sprintf("replication factor %d → %d is not changed in place: the topic is deleted and created again, and its records are lost", have.rf, want.rf)
	}
	return false, ""
}

func (t *Target) Apply(ctx context.Context, r *target.Resource, live map[string]any) error {
	want, err := parse(r.Body)
	if err != nil {
		return err
	}
	ctx, cancel := t.ctx(ctx)
	defer cancel()
	if live == nil {
		cfg := map[string]*string{}
		for k, v := range want.configs {
			cfg[k] = kadm.StringPtr(v)
		}
		_, err := t.adm.CreateTopic(ctx, want.partitions, want.rf, cfg, r.Name)
		if errors.Is(err, kerr.TopicAlreadyExists) {
			// Created by an earlier, interrupted apply: converge in place.
			return t.update(ctx, r, want, nil)
		}
		return err
	}
	return t.update(ctx, r, want, live)
}

func (t *Target) update(ctx context.Context, r *target.Resource, want spec, live map[string]any) error {
	if live == nil {
		got, err := t.Read(ctx, []*target.Resource{r})
		if err != nil {
			return err
		}
		live = got[r.Addr]
	}
	have, err := parse(live)
	if err != nil {
		return err
	}
	if want.partitions > have.partitions && have.partitions >= 0 {
		resp, err := t.adm.UpdatePartitions(ctx, int(want.partitions), r.Name)
		if err != nil {
			return err
		}
		if err := resp.Error(); err != nil {
			return err
		}
	}
	var alters []kadm.AlterConfig
	for _, k := range sortedKeys(want.configs) {
		if hv, ok := have.configs[k]; !ok || hv != want.configs[k] {
			alters = append(alters, kadm.AlterConfig{Op: kadm.SetConfig, Name: k, Value: kadm.StringPtr(want.configs[k])})
		}
	}
	// A config set on the topic that the spec no longer sets goes back to
	// the broker default.
	for _, k := range sortedKeys(have.configs) {
		if _, ok := want.configs[k]; !ok {
			alters = append(alters, kadm.AlterConfig{Op: kadm.DeleteConfig, Name: k})
		}
	}
	if len(alters) == 0 {
		return nil
	}
	resps, err := t.adm.AlterTopicConfigs(ctx, alters, r.Name)
	if err != nil {
		return err
	}
	for _, resp := range resps {
		if resp.Err != nil {
			return fmt.Errorf("altering configs of %q: %w", resp.Name, resp.Err)
		}
	}
	return nil
}

func (t *Target) Delete(ctx context.Context, r *target.Resource) error {
	ctx, cancel := t.ctx(ctx)
	defer cancel()
	resp, err := t.adm.DeleteTopic(ctx, r.Name)
	if err != nil && !errors.Is(err, kerr.UnknownTopicOrPartition) {
		return err
	}
	if resp.Err != nil && !errors.Is(resp.Err, kerr.UnknownTopicOrPartition) {
		return resp.Err
	}
	// Deletion completes asynchronously on real brokers; a replacement
	// must not create the topic before it is gone.
	for {
		details, err := t.listTopics(ctx, r.Name)
		if err != nil {
			return err
		}
		if _, ok := details[r.Name]; !ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("topic %q still listed after delete: %w", r.Name, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Ready: every partition has a leader.
func (t *Target) Ready(ctx context.Context, r *target.Resource) (target.Readiness, error) {
	ctx, cancel := t.ctx(ctx)
	defer cancel()
	details, err := t.listTopics(ctx, r.Name)
	if err != nil {
		return target.Readiness{}, err
	}
	d, ok := details[r.Name]
	if !ok {
		return target.Readiness{Known: true, Detail: "topic not visible yet"}, nil
	}
	if d.leaderless >= 0 {
		return target.Readiness{Known: true, Detail: fmt.Sprintf("partition %d has no leader", d.leaderless)}, nil
	}
	return target.Readiness{Ready: true, Known: true}, nil
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// topicInfo is what a metadata response says of one topic.
type topicInfo struct {
	exists     bool
	partitions int
	rf         int
	leaderless int32 // a partition without a leader, or -1
}

// listTopics asks a broker directly. kadm's ListTopics answers from the
// client's metadata cache (up to MetadataMinAge old, negative answers
// included), so a plan right after an apply would see topics as they were.
func (t *Target) listTopics(ctx context.Context, topics ...string) (map[string]topicInfo, error) {
	req := kmsg.NewPtrMetadataRequest()
	for _, name := range topics {
		rt := kmsg.NewMetadataRequestTopic()
		rt.Topic = kmsg.StringPtr(name)
		req.Topics = append(req.Topics, rt)
	}
	resp, err := req.RequestWith(ctx, t.cl)
	if err != nil {
		return nil, err
	}
	out := map[string]topicInfo{}
	for _, rt := range resp.Topics {
		if rt.Topic == nil {
			continue
		}
		if err := kerr.ErrorForCode(rt.ErrorCode); err != nil {
			if errors.Is(err, kerr.UnknownTopicOrPartition) {
				continue
			}
			return nil, fmt.Errorf("topic %q: %w", *rt.Topic, err)
		}
		ti := topicInfo{exists: true, partitions: len(rt.Partitions), leaderless: -1}
		for _, p := range rt.Partitions {
			if p.Partition == 0 {
				ti.rf = len(p.Replicas)
			}
			if p.Leader < 0 || p.ErrorCode != 0 {
				ti.leaderless = p.Partition
			}
		}
		out[*rt.Topic] = ti
	}
	return out, nil
}
