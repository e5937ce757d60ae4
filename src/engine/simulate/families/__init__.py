"""Viewbot families (see ``bots``)."""

from engine.simulate.families.bots import FAMILIES, BotWorld, Campaign, bot_session, plan_campaign

__all__ = ["FAMILIES", "BotWorld", "Campaign", "bot_session", "plan_campaign"]
