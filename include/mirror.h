/* SPDX-License-Identifier: MIT */
/*
 * mirror (nginx's ngx_http_mirror_module): after the access phase, each
 * `mirror URI` of the request's location starts one background
 * subrequest to URI (auth_request's machinery: http_sub_new() and
 * authreq_sub_init(), an internal redirect to URI with the main request's
 * arguments, the main request's method, headers and, under
 * mirror_request_body on, its body). The subrequests' answers are
 * dropped; the main request is never held for them until its own answer
 * is sent. Then, as nginx keeps a request's count, the main request waits
 * for them before its log phase and before the connection goes on (keep-
 * alive, the next pipelined request, the close): state CS_MIRROR. An
 * HTTP/2 stream does not wait: it logs and ends at once, and subrequests
 * still running are cancelled with it.
 *
 * mirror_request_body on (the default) reads the whole client body first,
 * as nginx's ngx_http_read_client_request_body, also under
 * proxy_request_buffering off: into memory, then client_body_temp_path.
 * The subrequests see that body (a view: they never free or close it; the
 * main request outlives them: its end closes any still running).
 */
#ifndef LBD_MIRROR_H
#define LBD_MIRROR_H

#include <stdbool.h>

struct conn;

/* mirror_start - the mirror step of main request C, in its location after
 * the access phase. False: the subrequests (if any) run and the caller
 * goes on to the content handler. True: C was taken over, either to read
 * the body first (CS_MIRROR; mirror.c then starts the subrequests and runs
 * http_content() itself) or to answer 500 (no memory). */
bool mirror_start(struct conn *c);

/* mirror_post_action - C's answer is done: its location's `post_action
 * URI|@name` (nginx: the request redirected there once its answer is
 * sent, with its method, headers and body; what the action answers is
 * dropped) as one more subrequest of the run, which mirror_wait() then
 * waits for. At most once per request; nothing for a subrequest. */
void mirror_post_action(struct conn *c);

/* mirror_wait - C's answer is done (http_response_done): true when
 * subrequests still run; C then waits in CS_MIRROR, its timer stopped,
 * and http_response_done runs again once the last one ends. */
bool mirror_wait(struct conn *c);

/* mirror_waiting - C was answered and waits in CS_MIRROR for its
 * subrequests. */
bool mirror_waiting(const struct conn *c);

/* mirror_client_event - client readiness of C in CS_MIRROR. */
void mirror_client_event(struct conn *c);

/* mirror_timer - C's timer in CS_MIRROR: client_body_timeout while it
 * reads the body (408 logged, nothing answered, as nginx), or the last
 * subrequest ended. */
void mirror_timer(struct conn *c);

/* mirror_req_end - C's request ends (req_cleanup): a main request closes
 * the subrequests still running; a subrequest drops its views of the main
 * request's body and tells its main request. */
void mirror_req_end(struct conn *c);

#endif
