// Package kubestate keeps the rtsapc state in the cluster: the document in
// a Secret (or ConfigMap) and the lock in a coordination.k8s.io Lease whose
// holder renews it while it works, so a holder that dies releases the lock
// when the lease expires.
package kubestate

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	coordclient "k8s.io/client-go/kubernetes/typed/coordination/v1"
	coreclient "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"

	"rtsap.dev/rtsapc/state"
)

const (
	dataKey       = "state.json.gz"
	backupKey     = "previous.json.gz"
	lockInfoAnnot = "rtsapc.dev/lock-info"
)

// Store keeps the state of one environment in Namespace/Name.
type Store struct {
	Namespace string
	Name      string
	// ConfigMap stores the document in a ConfigMap instead of a Secret (the
	// state holds no secret values, but Secrets are better guarded).
	ConfigMap bool
	// LeaseDuration is how long a lock outlives its last renewal (0: 30s).
	LeaseDuration time.Duration

	core  coreclient.CoreV1Interface
	coord coordclient.CoordinationV1Interface
}

var _ state.Store = (*Store)(nil)

// New connects with cfg.
func New(cfg *rest.Config, namespace, name string, configMap bool) (*Store, error) {
	core, err := coreclient.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	coord, err := coordclient.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return &Store{Namespace: namespace, Name: name, ConfigMap: configMap, core: core, coord: coord}, nil
}

func (s *Store) Describe() string {
	kind := "Secret"
	if s.ConfigMap {
		kind = "ConfigMap"
	}
	return fmt.Sprintf("state in %s %s/%s", kind, s.Namespace, s.Name)
}

// get returns the stored data and the object's resourceVersion ("" when
// absent).
func (s *Store) get(ctx context.Context) (map[string][]byte, string, error) {
	if s.ConfigMap {
		cm, err := s.core.ConfigMaps(s.Namespace).Get(ctx, s.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil, "", nil
		}
		if err != nil {
			return nil, "", err
		}
		return cm.BinaryData, cm.ResourceVersion, nil
	}
	sec, err := s.core.Secrets(s.Namespace).Get(ctx, s.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", err
	}
	return sec.Data, sec.ResourceVersion, nil
}

func (s *Store) Read(ctx context.Context) (*state.State, error) {
	data, _, err := s.get(ctx)
	if err != nil || data == nil || data[dataKey] == nil {
		return nil, err
	}
	raw, err := gunzip(data[dataKey])
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.Describe(), err)
	}
	return state.Decode(raw)
}

// Write replaces the document, keeping the previous one as a backup, with
// optimistic concurrency on the object's resourceVersion.
func (s *Store) Write(ctx context.Context, st *state.State) error {
	raw, err := st.Encode()
	if err != nil {
		return err
	}
	gz, err := gzipBytes(raw)
	if err != nil {
		return err
	}
	old, rv, err := s.get(ctx)
	if err != nil {
		return err
	}
	data := map[string][]byte{dataKey: gz}
	if old != nil && old[dataKey] != nil {
		data[backupKey] = old[dataKey]
	}
	meta := metav1.ObjectMeta{Name: s.Name, Namespace: s.Namespace, ResourceVersion: rv,
		Labels: map[string]string{"app.kubernetes.io/managed-by": "rtsapc"}}
	if s.ConfigMap {
		cm := &corev1.ConfigMap{ObjectMeta: meta, BinaryData: data}
		if rv == "" {
			_, err = s.core.ConfigMaps(s.Namespace).Create(ctx, cm, metav1.CreateOptions{})
		} else {
			_, err = s.core.ConfigMaps(s.Namespace).Update(ctx, cm, metav1.UpdateOptions{})
		}
		return err
	}
	sec := &corev1.Secret{ObjectMeta: meta, Data: data, Type: "rtsapc.dev/state"}
	if rv == "" {
		_, err = s.core.Secrets(s.Namespace).Create(ctx, sec, metav1.CreateOptions{})
	} else {
		_, err = s.core.Secrets(s.Namespace).Update(ctx, sec, metav1.UpdateOptions{})
	}
	return err
}

func (s *Store) leaseDuration() time.Duration {
	if s.LeaseDuration > 0 {
		return s.LeaseDuration
	}
	return 30 * time.Second
}

// Lock takes the Lease "<name>-lock", retrying until timeout; while held, a
// goroutine renews it at a third of its duration.
func (s *Store) Lock(ctx context.Context, info *state.LockInfo, timeout time.Duration) (func() error, error) {
	leases := s.coord.Leases(s.Namespace)
	name := s.Name + "-lock"
	infoJSON, _ := json.Marshal(info)
	dur := s.leaseDuration()
	secs := int32(dur / time.Second)
	if secs < 1 {
		secs = 1
	}
	start := time.Now()
	for {
		now := metav1.NewMicroTime(time.Now())
		l, err := leases.Get(ctx, name, metav1.GetOptions{})
		var holder *state.LockInfo
		switch {
		case apierrors.IsNotFound(err):
			_, err = leases.Create(ctx, &coordinationv1.Lease{
				ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: s.Namespace, Annotations: map[string]string{lockInfoAnnot: string(infoJSON)}},
				Spec:       coordinationv1.LeaseSpec{HolderIdentity: &info.ID, LeaseDurationSeconds: &secs, AcquireTime: &now, RenewTime: &now},
			}, metav1.CreateOptions{})
			if err == nil {
				return s.held(leases, name, info.ID), nil
			}
			if !apierrors.IsAlreadyExists(err) {
				return nil, err
			}
		case err != nil:
			return nil, err
		case free(l):
			l.Spec.HolderIdentity, l.Spec.LeaseDurationSeconds = &info.ID, &secs
			l.Spec.AcquireTime, l.Spec.RenewTime = &now, &now
			if l.Annotations == nil {
				l.Annotations = map[string]string{}
			}
			l.Annotations[lockInfoAnnot] = string(infoJSON)
			_, err = leases.Update(ctx, l, metav1.UpdateOptions{})
			if err == nil {
				return s.held(leases, name, info.ID), nil
			}
			if !apierrors.IsConflict(err) {
				return nil, err
			}
		default:
			var li state.LockInfo
			if json.Unmarshal([]byte(l.Annotations[lockInfoAnnot]), &li) == nil {
				holder = &li
			}
		}
		waited := time.Since(start)
		if holder != nil && waited >= timeout {
			return nil, &state.LockedError{Holder: holder, Waited: timeout}
		}
		select {
		case <-ctx.Done():
			return nil, &state.LockedError{Holder: holder, Waited: waited}
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// free: no holder, or the holder stopped renewing.
func free(l *coordinationv1.Lease) bool {
	if l.Spec.HolderIdentity == nil || *l.Spec.HolderIdentity == "" {
		return true
	}
	if l.Spec.RenewTime == nil || l.Spec.LeaseDurationSeconds == nil {
		return true
	}
	return time.Since(l.Spec.RenewTime.Time) > time.Duration(*l.Spec.LeaseDurationSeconds)*time.Second
}

func (s *Store) held(leases coordclient.LeaseInterface, name, id string) func() error {
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(s.leaseDuration() / 3)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				if l, err := leases.Get(ctx, name, metav1.GetOptions{}); err == nil && l.Spec.HolderIdentity != nil && *l.Spec.HolderIdentity == id {
					now := metav1.NewMicroTime(time.Now())
					l.Spec.RenewTime = &now
					leases.Update(ctx, l, metav1.UpdateOptions{})
				}
				cancel()
			}
		}
	}()
	return func() error {
		close(stop)
		<-done
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		l, err := leases.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if l.Spec.HolderIdentity == nil || *l.Spec.HolderIdentity != id {
			return nil // lost it (expired and taken); nothing to release
		}
		empty := ""
		l.Spec.HolderIdentity = &empty
		delete(l.Annotations, lockInfoAnnot)
		_, err = leases.Update(ctx, l, metav1.UpdateOptions{})
		return err
	}
}

func gzipBytes(b []byte) ([]byte, error) {
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	if _, err := zw.Write(b); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

func gunzip(b []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(io.LimitReader(zr, 64<<20))
}
