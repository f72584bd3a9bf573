/* Launch-to-painted timer for the panel (bench/app-bench.sh): starts a command, then watches the X
 * server for a viewable top-level window named "RepXP" whose pixels are no longer one flat colour
 * (grey-level standard deviation > 0.02, the same test as ImageMagick's
 * `import -format '%[fx:standard_deviation]'` that the script used before). Polling every 5 ms
 * in-process costs ~1 ms per look; the ImageMagick probe cost a process start (~100 ms here) per
 * look, which both delayed the answer and competed with the panel for the 2 CPUs.
 * Build: cc -O2 -o paint-probe paint-probe.c -lX11 -lm
 * Usage: paint-probe TIMEOUT_MS CMD [ARGS...]
 * Prints "MAPPED_MS PAINTED_MS" (ms from launch to a mapped window, and to a painted one), or
 * "timeout" after TIMEOUT_MS. The command's output goes to /dev/null. */
#include <X11/Xlib.h>
#include <X11/Xutil.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/* A viewable direct child of the root called "RepXP" (no window manager runs under Xvfb, so
 * top-level windows are the root's children), or 0. */
static Window find_panel(Display *d) {
    Window root_ret, parent, *kids = NULL, found = 0;
    unsigned int n = 0;
    if (!XQueryTree(d, DefaultRootWindow(d), &root_ret, &parent, &kids, &n)) return 0;
    for (unsigned int i = n; i-- > 0 && !found;) {
        XWindowAttributes a;
        char *name = NULL;
        if (!XGetWindowAttributes(d, kids[i], &a) || a.map_state != IsViewable) continue;
        if (XFetchName(d, kids[i], &name) && name) {
            if (strcmp(name, "RepXP") == 0) found = kids[i];
            XFree(name);
        }
    }
    if (kids) XFree(kids);
    return found;
}

static int ignore_errors(Display *d, XErrorEvent *e) { (void)d; (void)e; return 0; }

static int painted(Display *d, Window w) {
    XWindowAttributes a;
    if (!XGetWindowAttributes(d, w, &a) || a.width <= 0 || a.height <= 0) return 0;
    XImage *img = XGetImage(d, w, 0, 0, a.width, a.height, AllPlanes, ZPixmap);
    if (!img) return 0; /* the window went away or is not viewable yet */
    double sum = 0, sq = 0;
    long n = (long)a.width * a.height;
    for (int y = 0; y < a.height; y++)
        for (int x = 0; x < a.width; x++) {
            unsigned long p = XGetPixel(img, x, y);
            double r = ((p & img->red_mask) >> __builtin_ctzl(img->red_mask)) / 255.0;
            double g = ((p & img->green_mask) >> __builtin_ctzl(img->green_mask)) / 255.0;
            double b = ((p & img->blue_mask) >> __builtin_ctzl(img->blue_mask)) / 255.0;
            double v = (r + g + b) / 3;
            sum += v;
            sq += v * v;
        }
    XDestroyImage(img);
    double mean = sum / n;
    return sqrt(fmax(sq / n - mean * mean, 0)) > 0.02;
}

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: paint-probe TIMEOUT_MS CMD [ARGS...]\n"); return 2; }
    double timeout = atof(argv[1]);
    Display *d = XOpenDisplay(NULL);
    if (!d) { fprintf(stderr, "paint-probe: cannot open display\n"); return 1; }
    XSetErrorHandler(ignore_errors);
    double t0 = now_ms(), mapped = -1;
    pid_t child = fork();
    if (child == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        dup2(null, 2);
        execvp(argv[2], argv + 2);
        _exit(127);
    }
    for (;;) {
        waitpid(child, NULL, WNOHANG);
        Window w = find_panel(d);
        if (w) {
            if (mapped < 0) mapped = now_ms() - t0;
            if (painted(d, w)) {
                printf("%.0f %.0f\n", mapped, now_ms() - t0);
                break;
            }
        }
        if (now_ms() - t0 > timeout) { printf("timeout\n"); break; }
        usleep(5000);
    }
    /* A second launch has ended by now; anything still running is left to run. */
    waitpid(child, NULL, WNOHANG);
    XCloseDisplay(d);
    return 0;
}
