/* work_queue.h: the catalogue's queue of searches waiting for a free
 * connection, in three places.
 *
 * An intrusive FIFO list of nodes (embed a struct queue_node; the queue
 * owns nothing), with a front part that goes ahead of the rest:
 *
 *     [ QUEUE_FIRST ... | QUEUE_AHEAD ... | QUEUE_IN_TURN ... ]
 *
 * QUEUE_IN_TURN joins the end (new work); QUEUE_AHEAD joins the end of
 * the front part (work that finishes something already begun, in the
 * order it came); QUEUE_FIRST goes before everything (a retry) and counts
 * as front part. Every operation is O(1): a <sys/queue.h> TAILQ. */
#ifndef ONLOAN_CATALOGUE_WORK_QUEUE_H
#define ONLOAN_CATALOGUE_WORK_QUEUE_H

#include <stddef.h>
#include <sys/queue.h>

struct queue_node {
    TAILQ_ENTRY(queue_node) link;
    int in_turn;                /* queued in turn, behind the front part (the queue's to set) */
};

enum queue_place { QUEUE_IN_TURN, QUEUE_AHEAD, QUEUE_FIRST };

struct work_queue {
    TAILQ_HEAD(queue_nodes, queue_node) nodes;
    struct queue_node *ahead_tail;  /* last node of the front part, or NULL */
    size_t n;
};

/* An empty queue (a zeroed one is not). */
void work_queue_init(struct work_queue *q);
void work_queue_push(struct work_queue *q, struct queue_node *node, enum queue_place place);
/* The first node, unlinked; NULL when empty. */
struct queue_node *work_queue_pop(struct work_queue *q);
/* For walking the queue in order (NULL at the end). */
struct queue_node *work_queue_first(const struct work_queue *q);
struct queue_node *work_queue_next(const struct queue_node *node);
/* Takes node, which is queued, out. */
void work_queue_unlink(struct work_queue *q, struct queue_node *node);
/* Moves node, queued in turn, to the end of the front part, as if pushed
 * QUEUE_AHEAD now. Returns 0 when node is not queued in turn (already
 * ahead, or not queued), and leaves the queue as it was. A node never
 * queued must have in_turn 0 (zeroed). */
int work_queue_move_ahead(struct work_queue *q, struct queue_node *node);

#endif
