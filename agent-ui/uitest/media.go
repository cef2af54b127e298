package uitest

import (
	"context"
	"os"
	"os/exec"
	"testing"

	"github.com/chromedp/chromedp"
)

// MediaFlags are the Chromium switches of a WebRTC test: a fake microphone (a tone) that needs no permission prompt, and
// loopback ICE candidates, since the test's gateway listens on 127.0.0.1. Never for a real browser.
var MediaFlags = map[string]any{
	"use-fake-device-for-media-stream":   true,
	"use-fake-ui-for-media-stream":       true,
	"allow-loopback-in-peer-connection":  true,
	"autoplay-policy":                    "no-user-gesture-required",
	"disable-features":                   "WebRtcHideLocalIpsWithMdns",
	"enforce-webrtc-ip-permission-check": false,
}

// BrowserWith starts a second headless Chromium, separate from the shared one (which keeps its flags), with extra command-line
// switches such as MediaFlags; it stops at the end of the test.
func BrowserWith(tb testing.TB, flags map[string]any) context.Context {
	tb.Helper()
	path := "/usr/bin/chromium"
	if _, err := os.Stat(path); err != nil {
		if p, err := exec.LookPath("chromium"); err == nil {
			path = p
		} else {
			tb.Fatalf("chromium is not installed: run scripts/install-deps.sh chromium (Debian package), then run the tests again")
		}
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(tb.TempDir()), chromedp.WindowSize(1366, 900),
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("lang", "en-US"),
	}
	for name, v := range flags {
		opts = append(opts, chromedp.Flag(name, v))
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		cancelAlloc()
		tb.Fatalf("start chromium: %v", err)
	}
	tb.Cleanup(func() { cancel(); cancelAlloc() })
	return ctx
}
