/* Closes X11 windows the way a window manager's close button does: a WM_DELETE_WINDOW client
 * message (xdotool 3.2016's `windowclose` destroys the X window under the toolkit instead).
 * Build: cc -O2 -o wm-close wm-close.c -lX11    Usage: wm-close WINDOW_ID...   (bench/app-bench.sh) */
#include <X11/Xlib.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    Display *d = XOpenDisplay(NULL);
    if (!d) { fprintf(stderr, "wm-close: cannot open display\n"); return 1; }
    Atom protocols = XInternAtom(d, "WM_PROTOCOLS", False);
    Atom del = XInternAtom(d, "WM_DELETE_WINDOW", False);
    for (int i = 1; i < argc; i++) {
        XEvent e = {0};
        e.xclient.type = ClientMessage;
        e.xclient.window = (Window)strtoul(argv[i], NULL, 0);
        e.xclient.message_type = protocols;
        e.xclient.format = 32;
        e.xclient.data.l[0] = (long)del;
        e.xclient.data.l[1] = CurrentTime;
        XSendEvent(d, e.xclient.window, False, NoEventMask, &e);
    }
    XSync(d, False);
    XCloseDisplay(d);
    return 0;
}
