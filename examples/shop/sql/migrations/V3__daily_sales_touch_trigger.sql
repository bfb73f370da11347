-- Keep daily_sales.updated_at honest when the nightly job re-aggregates a day.

CREATE FUNCTION touch_updated_at() RETURNS trigger
    LANGUAGE plpgsql
AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;

CREATE TRIGGER daily_sales_touch_updated_at
    BEFORE UPDATE ON daily_sales
    FOR EACH ROW EXECUTE FUNCTION touch_updated_at();

ALTER TABLE daily_sales ADD COLUMN refunds numeric(14,2) NOT NULL DEFAULT 0;
ALTER TABLE daily_sales ADD CONSTRAINT daily_sales_refunds_check CHECK (refunds >= 0);
