// Package uitest drives the agent desktop and the wallboard in a real headless Chromium (Debian's, started once per test binary),
// for the browser tests of agent-ui and the whole-system tests of cmd/switchboard. It is test support: only _test files import it.
package uitest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The browser is shared by the tests of the package (each tab gets its own browser context, so its own cookies): starting
// Chromium is the slow part of a browser test on a small machine.
var browser struct {
	sync.Mutex
	ctx    context.Context
	cancel func()
}

// Close stops the shared browser; call it from TestMain after the tests ran.
func Close() {
	browser.Lock()
	defer browser.Unlock()
	if browser.cancel != nil {
		browser.cancel()
		browser.ctx, browser.cancel = nil, nil
	}
}

// Browser returns the shared headless Chromium, starting it on first use. A missing Chromium fails the test with what to do:
// tests that cannot run must not pass silently.
func Browser(tb testing.TB) context.Context {
	tb.Helper()
	browser.Lock()
	defer browser.Unlock()
	if browser.ctx != nil {
		return browser.ctx
	}
	path := "/usr/bin/chromium"
	if _, err := os.Stat(path); err != nil {
		if p, err := exec.LookPath("chromium"); err == nil {
			path = p
		} else {
			tb.Fatalf("chromium is not installed: run scripts/install-deps.sh chromium (Debian package), then run the tests again")
		}
	}
	dir, err := os.MkdirTemp("", "sb-chromium-")
	if err != nil {
		tb.Fatal(err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(dir), chromedp.WindowSize(1366, 900),
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("lang", "en-US"),
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		cancel()
		cancelAlloc()
		os.RemoveAll(dir)
		tb.Fatalf("start chromium: %v", err)
	}
	browser.ctx = ctx
	browser.cancel = func() { cancel(); cancelAlloc(); os.RemoveAll(dir) }
	return ctx
}

// NewTab opens a tab in a fresh browser context (its own cookies and storage), with a deadline for the whole test.
func NewTab(tb testing.TB, browser context.Context) context.Context {
	tb.Helper()
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	ctx, cancelT := context.WithTimeout(ctx, 60*time.Second)
	tb.Cleanup(func() { cancelT(); cancel() })
	return ctx
}

// Browse runs chromedp actions and fails the test on an error.
func Browse(tb testing.TB, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	tb.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		tb.Fatalf("browser: %v", err)
	}
}

// WaitJS polls a JavaScript condition in the page, through navigations.
func WaitJS(tb testing.TB, ctx context.Context, what, expr string, timeout time.Duration) {
	tb.Helper()
	end := time.Now().Add(timeout)
	var err error
	for time.Now().Before(end) {
		var ok bool
		ok, err = chromedp.Run(ctx, chromedp.Evaluate[bool](`!!(`+expr+`)`))
		if err == nil && ok {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText.slice(0, 600) : ''`))
	tb.Fatalf("waiting for %s: timed out (last error %v)\npage: %s", what, err, text)
}

// EvalJS evaluates a JavaScript expression (awaiting a promise) and returns its value.
func EvalJS[T any](tb testing.TB, ctx context.Context, expr string) T {
	tb.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		tb.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// Click clicks the element with the data-testid.
func Click(tb testing.TB, ctx context.Context, testid string) {
	tb.Helper()
	EvalJS[bool](tb, ctx, fmt.Sprintf(`(() => { const el = document.querySelector('[data-testid=%q]'); if (!el) throw new Error('no %s'); el.click(); return true })()`, testid, testid))
}

// Screenshot saves the page as .artifacts/screenshots/<name>.png in the repository (git-ignored).
func Screenshot(tb testing.TB, ctx context.Context, name string) {
	tb.Helper()
	dir := filepath.Join(repoRoot(tb), ".artifacts", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	b, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		tb.Fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), b, 0o644); err != nil {
		tb.Fatal(err)
	}
}

// SignIn signs in through the sign-in page and waits for the home page's websocket.
func SignIn(tb testing.TB, ctx context.Context, base, login, password, home string) {
	tb.Helper()
	Browse(tb, ctx, chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS(`[data-testid=login]`)))
	EvalJS[bool](tb, ctx, fmt.Sprintf(`(() => { document.querySelector('[data-testid=login]').value = %q;
		document.querySelector('[data-testid=password]').value = %q;
		document.querySelector('[data-testid=signin-submit]').click(); return true })()`, login, password))
	WaitJS(tb, ctx, "the "+home+" page", fmt.Sprintf(`location.pathname === %q && document.querySelector('[data-testid=conn]')?.dataset.state === 'open'`, home), 10*time.Second)
}

func repoRoot(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatal("no go.mod above the working directory")
		}
		dir = parent
	}
}
