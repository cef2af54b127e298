package recdir

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"golang.org/x/sys/unix"

	"github.com/switchboard-cc/switchboard/cti"
)

// wav returns a mono 16-bit 8 kHz WAV of d.
func wav(d time.Duration) []byte {
	data := int(d.Seconds() * 16000)
	var b bytes.Buffer
	b.WriteString("RIFF")
	binary.Write(&b, binary.LittleEndian, uint32(36+data))
	b.WriteString("WAVEfmt ")
	for _, v := range []any{uint32(16), uint16(1), uint16(1), uint32(8000), uint32(16000), uint16(2), uint16(16)} {
		binary.Write(&b, binary.LittleEndian, v)
	}
	b.WriteString("data")
	binary.Write(&b, binary.LittleEndian, uint32(data))
	b.Write(make([]byte, data))
	return b.Bytes()
}

func TestSaveAndOpen(t *testing.T) {
	d := mustNew(t)
	audio := wav(3 * time.Second)
	ref, err := d.Save(context.Background(), "interaction-0193", bytes.NewReader(audio))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(audio)
	want := cti.RecordingRef{File: "interaction-0193.wav", Size: int64(len(audio)), SHA256: hex.EncodeToString(sum[:]), Duration: 3 * time.Second}
	if ref != want {
		t.Fatalf("ref = %+v, want %+v", ref, want)
	}
	f, err := d.Open(ref.File)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, _ := io.ReadAll(f)
	if !bytes.Equal(got, audio) {
		t.Fatal("stored bytes differ")
	}
	entries, _ := os.ReadDir(d.path)
	if len(entries) != 1 {
		t.Fatalf("folder holds %d entries, want only the recording", len(entries))
	}
}

// A failed download leaves nothing under the final name and no temporary file behind.
func TestSaveFailureLeavesNothing(t *testing.T) {
	d := mustNew(t)
	boom := errors.New("connection reset")
	_, err := d.Save(context.Background(), "interaction-x", io.MultiReader(bytes.NewReader(wav(time.Second)[:100]), errReader{boom}))
	if cti.ErrorCode(err) != cti.EINTERNAL || !errors.Is(err, boom) {
		t.Fatalf("err = %v, want internal wrapping the cause", err)
	}
	if entries, _ := os.ReadDir(d.path); len(entries) != 0 {
		t.Fatalf("folder holds %v after a failed save", entries)
	}
}

func TestNamesCannotEscapeTheFolder(t *testing.T) {
	d, _ := New(t.TempDir())
	for _, name := range []string{"", "../etc/passwd", "a/b", ".hidden", `a\b`} {
		if _, err := d.Save(context.Background(), name, bytes.NewReader(nil)); cti.ErrorCode(err) != cti.EINVALID {
			t.Errorf("Save(%q) err = %v, want invalid", name, err)
		}
	}
	for _, file := range []string{"../x.wav", "x.mp3", ".x.wav"} {
		if _, err := d.Open(file); cti.ErrorCode(err) != cti.EINVALID {
			t.Errorf("Open(%q) err = %v, want invalid", file, err)
		}
	}
	if _, err := d.Open("missing.wav"); cti.ErrorCode(err) != cti.ENOTFOUND {
		t.Errorf("Open(missing) err = %v, want not found", err)
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// Concurrent saves all land, each under its name with its own bytes, and nothing else stays in the folder.
func TestConcurrentSaves(t *testing.T) {
	d := mustNew(t)
	const n = 40
	var wg sync.WaitGroup
	refs := make([]cti.RecordingRef, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			refs[i], errs[i] = d.Save(context.Background(), fmt.Sprintf("interaction-%d", i), bytes.NewReader(wav(time.Duration(i+1)*time.Second/10)))
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("save %d: %v", i, errs[i])
		}
		audio := wav(time.Duration(i+1) * time.Second / 10)
		got, err := os.ReadFile(filepath.Join(d.path, refs[i].File))
		if err != nil || !bytes.Equal(got, audio) {
			t.Fatalf("recording %d: %d bytes, err %v; want %d bytes", i, len(got), err, len(audio))
		}
		if refs[i].Duration != time.Duration(i+1)*time.Second/10 {
			t.Errorf("recording %d: duration %v", i, refs[i].Duration)
		}
	}
	if entries, _ := os.ReadDir(d.path); len(entries) != n {
		t.Fatalf("folder holds %d entries, want %d", len(entries), n)
	}
}

// Saves that arrive while a batch is being made durable share the next batch; when making it durable fails, every Save of
// that batch fails and leaves nothing behind, and the batch before it is unaffected.
func TestFailedSyncFailsTheWholeBatch(t *testing.T) {
	d := mustNew(t)
	boom := errors.New("EIO")
	release := make(chan struct{})
	calls := 0
	d.syncData = func([]int) error {
		calls++ // batches are committed one at a time
		if calls == 1 {
			<-release
			return nil
		}
		return boom
	}
	first := make(chan error, 1)
	go func() {
		_, err := d.Save(context.Background(), "interaction-first", bytes.NewReader(wav(time.Second)))
		first <- err
	}()
	waitFor(t, func() bool { d.mu.Lock(); defer d.mu.Unlock(); return d.syncing != nil })

	const n = 5
	errs := make(chan error, n)
	for i := range n {
		go func() {
			_, err := d.Save(context.Background(), fmt.Sprintf("interaction-%d", i), bytes.NewReader(wav(time.Second)))
			errs <- err
		}()
	}
	waitFor(t, func() bool { d.mu.Lock(); defer d.mu.Unlock(); return d.open != nil && len(d.open.files) == n })
	close(release)
	if err := <-first; err != nil {
		t.Fatalf("first batch: %v", err)
	}
	for range n {
		if err := <-errs; cti.ErrorCode(err) != cti.EINTERNAL || !errors.Is(err, boom) {
			t.Fatalf("save in the failed batch: err = %v, want internal wrapping the cause", err)
		}
	}
	if calls != 2 {
		t.Fatalf("%d batches committed, want 2", calls)
	}
	entries, _ := os.ReadDir(d.path)
	if len(entries) != 1 || entries[0].Name() != "interaction-first.wav" {
		t.Fatalf("folder holds %v, want only the first recording", entries)
	}
}

// Saving a name again replaces the recording (a retried download), and Saves of one name at once all succeed, one of
// them winning whole; nothing else stays in the folder.
func TestSaveReplaces(t *testing.T) {
	d := mustNew(t)
	if _, err := d.Save(context.Background(), "interaction-r", bytes.NewReader(wav(time.Second))); err != nil {
		t.Fatal(err)
	}
	again := wav(2 * time.Second)
	ref, err := d.Save(context.Background(), "interaction-r", bytes.NewReader(again))
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(d.path, ref.File)); !bytes.Equal(got, again) || ref.Size != int64(len(again)) {
		t.Fatalf("stored %d bytes (ref %d), want the second save's %d", len(got), ref.Size, len(again))
	}

	const n = 8
	audios := make([][]byte, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		audios[i] = wav(time.Duration(i+1) * time.Second / 4)
		wg.Go(func() { _, errs[i] = d.Save(context.Background(), "interaction-r", bytes.NewReader(audios[i])) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("save %d: %v", i, err)
		}
	}
	got, _ := os.ReadFile(filepath.Join(d.path, "interaction-r.wav"))
	if !slices.ContainsFunc(audios, func(a []byte) bool { return bytes.Equal(a, got) }) {
		t.Fatalf("stored %d bytes, none of the saves' recordings", len(got))
	}
	if entries, _ := os.ReadDir(d.path); len(entries) != 1 {
		t.Fatalf("folder holds %v, want only the recording", entries)
	}
}

// When the final name cannot be given (here a folder holds it), Save fails naming the cause and leaves no file behind.
func TestNamingFailureLeavesNothing(t *testing.T) {
	d := mustNew(t)
	if err := os.Mkdir(filepath.Join(d.path, "interaction-d.wav"), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(d.path, "interaction-d.wav", "x"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := d.Save(context.Background(), "interaction-d", bytes.NewReader(wav(time.Second)))
	var le *os.LinkError
	if cti.ErrorCode(err) != cti.EINTERNAL || !errors.As(err, &le) {
		t.Fatalf("err = %v, want internal wrapping the failed rename", err)
	}
	entries, _ := os.ReadDir(d.path)
	if len(entries) != 1 || !entries[0].IsDir() {
		t.Fatalf("folder holds %v, want only the folder in the way", entries)
	}
}

// A Save after a quiet spell commits at once; Saves that finish within a window of a commit's start wait for the window
// to pass and share the next commit.
func TestCommitsAWindowApart(t *testing.T) {
	path := t.TempDir()
	synctest.Test(t, func(t *testing.T) {
		d, err := New(path)
		if err != nil {
			t.Fatal(err)
		}
		d.window = time.Minute
		start := time.Now()
		type commit struct {
			at    time.Duration
			files int
		}
		var commits []commit
		d.syncData = func(fds []int) error {
			commits = append(commits, commit{time.Since(start), len(fds)}) // commits are made one at a time
			return syncData(fds)
		}
		if _, err := d.Save(context.Background(), "interaction-lone", bytes.NewReader(wav(time.Second))); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for i := range 3 {
			wg.Go(func() {
				if _, err := d.Save(context.Background(), fmt.Sprintf("interaction-%d", i), bytes.NewReader(wav(time.Second))); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if want := []commit{{0, 1}, {time.Minute, 3}}; !slices.Equal(commits, want) {
			t.Fatalf("commits (since the first Save, files) = %v, want %v", commits, want)
		}
	})
	if entries, _ := os.ReadDir(path); len(entries) != 4 {
		t.Fatalf("folder holds %v, want the 4 recordings", entries)
	}
}

// The data of a batch is made durable through the batch's file opened first (syncfs reports the errors since its file was
// opened), whatever the order in which the batch's Saves finished.
func TestBatchSyncsThroughItsOldestFile(t *testing.T) {
	d, err := New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	var firstSizes []int64
	d.syncData = func(fds []int) error {
		if len(firstSizes) == 0 {
			<-release // hold the lone first batch so the next one collects both Saves
		}
		var st unix.Stat_t
		if err := unix.Fstat(fds[0], &st); err != nil {
			return err
		}
		firstSizes = append(firstSizes, st.Size) // batches are committed one at a time
		return syncData(fds)
	}
	errs := make(chan error, 3)
	save := func(name string, r io.Reader) {
		go func() { _, err := d.Save(context.Background(), name, r); errs <- err }()
	}
	save("interaction-lone", bytes.NewReader(wav(time.Second)))
	waitFor(t, func() bool { d.mu.Lock(); defer d.mu.Unlock(); return d.syncing != nil })

	slow, feed := io.Pipe() // opened first, finishes last
	save("interaction-slow", slow)
	waitFor(t, func() bool { return d.opened.Load() == 2 })
	save("interaction-fast", bytes.NewReader(wav(time.Second)))
	waitFor(t, func() bool { d.mu.Lock(); defer d.mu.Unlock(); return d.open != nil && len(d.open.files) == 1 })
	long := wav(2 * time.Second)
	go func() { feed.Write(long); feed.Close() }()
	waitFor(t, func() bool { d.mu.Lock(); defer d.mu.Unlock(); return len(d.open.files) == 2 })
	close(release)
	for range 3 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if want := []int64{int64(len(wav(time.Second))), int64(len(long))}; !slices.Equal(firstSizes, want) {
		t.Fatalf("sizes of the files the batches were synced through = %v, want %v (the slow save's)", firstSizes, want)
	}
}

// Temporary files a crash left behind are removed when the store opens; recordings stay.
func TestNewRemovesStaleTemporaryFiles(t *testing.T) {
	path := t.TempDir()
	for _, f := range []string{tmpPrefix + "123", "interaction-1.wav"} {
		if err := os.WriteFile(filepath.Join(path, f), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := New(path); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(path)
	if len(entries) != 1 || entries[0].Name() != "interaction-1.wav" {
		t.Fatalf("folder holds %v, want only the recording", entries)
	}
}

func mustNew(tb testing.TB) *Dir {
	tb.Helper()
	d, err := New(tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	return d
}

// waitFor polls cond until it holds (5 s at most).
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 5 s")
		}
	}
}
