-- Paging older activity back in (scrolling past the top of the screen) reads by time.
CREATE INDEX activity_at ON activity (at_ms);
