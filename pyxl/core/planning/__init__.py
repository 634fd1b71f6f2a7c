"""The week planner: per owner, who to contact on which working day and in which time block, within capacity.

Pure: pandas in, pandas out (no Excel, no files).  Modules: ``model`` (settings, result, the per-customer
planning frame and its columns, room, objective), ``solver`` (assigning due customers to days), ``blocks``
(time blocks, preferred time), ``week`` (``plan_week``: the whole pipeline), ``inputs`` (``plan_for``: the
planner's inputs from the Rules, Settings and blocks table).  Model, per owner (owners never share capacity,
so the problem decomposes by owner):

* Plan days ``P`` = the working days of the ISO week on or after ``today`` (holidays are never used,
  make-up working days are).  Day capacity = ``min(capacity, load weight of the weekday)`` (``load_mode="min"``,
  the default: the owner's capacity is a ceiling, the pattern the shape of the week) or
  ``round(capacity × weight / max weight)`` (``"scale"``).  A working weekend day with weight 0 takes Friday's.
* Fixed touches: an agreed date in ``P`` is kept on that day even when the day overflows (``day_totals.over``).
* Due units: every customer due by the last plan day.  Nothing before ``earliest``.
  - once-a-week tiers: one touch, cost ``weight × working days late``; not placed: ``weight × (late on the
    first working day after the week + miss_penalty)``.
  - every-working-day tiers: a touch on every plan day from the due day up to the payment deadline; the
    lateness of the chain of touches telescopes to ``weight × (owed days − touches)`` plus ``miss_penalty``
    when never touched.  A payment deadline before the first plan day is reported as unplaced.
  Objective = the sum; constraints: day capacity, per-tier daily quota, one touch per customer per day.
* Solvers: ``"greedy"`` (default, numpy only): customers that are interchangeable for the objective are
  grouped into classes (owner, tier, due day, first day, last day), a greedy fills days by value and
  negative-cycle cancelling on the small class × day network improves it; run to convergence it is exact.
  ``"milp"``: a per-customer 0/1 model solved per owner by ``scipy.optimize.milp`` (HiGHS), the reference.
* After the solve: spare room is filled with customers in their window but not yet due (``fill_ahead``),
  birthdays and holiday greetings are added (they use no capacity: a short message), and each day's
  touches are put in time blocks (tier/keyword blocks ∩ preferred time; block room ∝ block length; a full
  block spills into the nearest block with room — blocks and preferred time are soft, the day is hard).
"""
from .blocks import TimeBlock, blocks_from_table, day_block, preferred_window, preset_time_blocks
from .inputs import plan_for, plan_settings, plan_tiers
from .model import ENTRY_COLUMNS, TOTAL_COLUMNS, UNPLACED_COLUMNS, PlanResult, PlanSettings
from .week import agenda, plan_week, with_co_owners

__all__ = ["ENTRY_COLUMNS", "TOTAL_COLUMNS", "UNPLACED_COLUMNS", "PlanResult", "PlanSettings", "TimeBlock",
           "agenda", "blocks_from_table", "day_block", "plan_for", "plan_settings", "plan_tiers", "plan_week",
           "preferred_window", "preset_time_blocks", "with_co_owners"]
