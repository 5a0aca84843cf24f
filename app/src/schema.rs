// @generated automatically by Diesel CLI.

diesel::table! {
    audit_log (tenant_id, id) {
        tenant_id -> Int8,
        id -> Int8,
        actor_id -> Nullable<Int8>,
        action -> Text,
        target_user_id -> Nullable<Int8>,
        detail -> Jsonb,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    companies (tenant_id, id) {
        tenant_id -> Int8,
        id -> Int8,
        name -> Text,
        name_key -> Text,
        name_grams -> Array<Nullable<Text>>,
        phone -> Text,
        email -> Text,
        website -> Text,
        address -> Text,
        introduction -> Text,
        category_id -> Nullable<Int8>,
        owner_id -> Int8,
        visibility -> Text,
        custom -> Jsonb,
        created_by -> Int8,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        last_activity_at -> Timestamptz,
        import_id -> Nullable<Int8>,
    }
}

diesel::table! {
    company_events (tenant_id, id) {
        tenant_id -> Int8,
        id -> Int8,
        company_id -> Int8,
        actor_id -> Nullable<Int8>,
        action -> Text,
        subject -> Text,
        changes -> Jsonb,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    company_tags (tenant_id, company_id, tag_id) {
        tenant_id -> Int8,
        company_id -> Int8,
        tag_id -> Int8,
    }
}

diesel::table! {
    contacts (tenant_id, id) {
        tenant_id -> Int8,
        id -> Int8,
        company_id -> Int8,
        name -> Text,
        name_grams -> Array<Nullable<Text>>,
        title -> Text,
        phone -> Text,
        mobile -> Text,
        email -> Text,
        qq -> Text,
        wechat -> Text,
        other_im -> Text,
        weibo -> Text,
        custom -> Jsonb,
        created_by -> Int8,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        import_id -> Nullable<Int8>,
    }
}

diesel::table! {
    custom_fields (tenant_id, id) {
        tenant_id -> Int8,
        id -> Int8,
        entity -> Text,
        label -> Text,
        kind -> Text,
        options -> Array<Nullable<Text>>,
        required -> Bool,
        position -> Int4,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    customer_categories (tenant_id, id) {
        tenant_id -> Int8,
        id -> Int8,
        name -> Text,
        position -> Int4,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    emails (tenant_id, id) {
        tenant_id -> Int8,
        id -> Int8,
        kind -> Text,
        to_addr -> Text,
        subject -> Text,
        body_text -> Text,
        status -> Text,
        attempts -> Int4,
        max_attempts -> Int4,
        last_error -> Nullable<Text>,
        run_after -> Timestamptz,
        enqueued_at -> Nullable<Timestamptz>,
        lease_until -> Nullable<Timestamptz>,
        sent_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    exports (tenant_id, id) {
        tenant_id -> Int8,
        id -> Int8,
        requested_by -> Int8,
        entity -> Text,
        format -> Text,
        query -> Text,
        view -> Text,
        locale -> Text,
        status -> Text,
        rows_done -> Int8,
        attempts -> Int4,
        max_attempts -> Int4,
        enqueued_at -> Nullable<Timestamptz>,
        lease_until -> Nullable<Timestamptz>,
        file_key -> Nullable<Text>,
        file_name -> Nullable<Text>,
        size_bytes -> Nullable<Int8>,
        last_error -> Nullable<Text>,
        created_at -> Timestamptz,
        finished_at -> Nullable<Timestamptz>,
        rows_total -> Nullable<Int8>,
        started_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    import_chunks (tenant_id, import_id, chunk_no) {
        tenant_id -> Int8,
        import_id -> Int8,
        chunk_no -> Int4,
        rows -> Int4,
        done_at -> Timestamptz,
    }
}

diesel::table! {
    import_errors (tenant_id, import_id, row_no) {
        tenant_id -> Int8,
        import_id -> Int8,
        row_no -> Int8,
        column_name -> Text,
        reason -> Text,
    }
}

diesel::table! {
    import_keys (tenant_id, import_id, key) {
        tenant_id -> Int8,
        import_id -> Int8,
        key -> Text,
    }
}

diesel::table! {
    import_undo (tenant_id, import_id, record_id) {
        tenant_id -> Int8,
        import_id -> Int8,
        record_id -> Int8,
        before -> Jsonb,
    }
}

diesel::table! {
    imports (tenant_id, id) {
        tenant_id -> Int8,
        id -> Int8,
        requested_by -> Int8,
        entity -> Text,
        format -> Text,
        file_key -> Text,
        file_name -> Text,
        size_bytes -> Int8,
        headers -> Jsonb,
        sample -> Jsonb,
        mapping -> Jsonb,
        visibility -> Text,
        owner_id -> Nullable<Int8>,
        on_duplicate -> Text,
        locale -> Text,
        status -> Text,
        cancel_requested -> Bool,
        rows_total -> Nullable<Int8>,
        rows_done -> Int8,
        created_count -> Int8,
        updated_count -> Int8,
        duplicate_count -> Int8,
        error_count -> Int8,
        attempts -> Int4,
        max_attempts -> Int4,
        enqueued_at -> Nullable<Timestamptz>,
        lease_until -> Nullable<Timestamptz>,
        last_error -> Nullable<Text>,
        created_at -> Timestamptz,
        started_at -> Nullable<Timestamptz>,
        finished_at -> Nullable<Timestamptz>,
        undone_by -> Nullable<Int8>,
    }
}

diesel::table! {
    invitations (tenant_id, id) {
        tenant_id -> Int8,
        id -> Int8,
        user_id -> Int8,
        token_hash -> Text,
        invited_by -> Nullable<Int8>,
        expires_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        purpose -> Text,
    }
}

diesel::table! {
    list_columns (tenant_id, user_id, list) {
        tenant_id -> Int8,
        user_id -> Int8,
        list -> Text,
        shown -> Array<Nullable<Text>>,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    lost_reasons (tenant_id, id) {
        tenant_id -> Int8,
        id -> Int8,
        name -> Text,
        position -> Int4,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    note_attachments (tenant_id, id) {
        tenant_id -> Int8,
        id -> Int8,
        note_id -> Int8,
        company_id -> Int8,
        file_name -> Text,
        content_type -> Text,
        size_bytes -> Int8,
        storage_key -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    notes (tenant_id, id) {
        tenant_id -> Int8,
        id -> Int8,
        company_id -> Int8,
        body -> Text,
        author_id -> Int8,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        opportunity_id -> Nullable<Int8>,
    }
}

diesel::table! {
    opportunities (tenant_id, id) {
        tenant_id -> Int8,
        id -> Int8,
        company_id -> Int8,
        name -> Text,
        name_grams -> Array<Nullable<Text>>,
        description -> Text,
        amount -> Int8,
        currency -> Text,
        category_id -> Nullable<Int8>,
        stage_id -> Int8,
        status -> Text,
        lost_reason_id -> Nullable<Int8>,
        lost_note -> Text,
        expected_close -> Nullable<Date>,
        closed_at -> Nullable<Timestamptz>,
        owner_id -> Int8,
        visibility -> Text,
        custom -> Jsonb,
        created_by -> Int8,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        last_activity_at -> Timestamptz,
    }
}

diesel::table! {
    opportunity_categories (tenant_id, id) {
        tenant_id -> Int8,
        id -> Int8,
        name -> Text,
        position -> Int4,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    opportunity_daily (tenant_id, day, owner_id, visibility) {
        tenant_id -> Int8,
        day -> Date,
        owner_id -> Int8,
        visibility -> Text,
        created_count -> Int4,
        created_amount -> Int8,
        won_count -> Int4,
        won_amount -> Int8,
        lost_count -> Int4,
        lost_amount -> Int8,
    }
}

diesel::table! {
    opportunity_dirty_days (tenant_id, day, xact) {
        tenant_id -> Int8,
        day -> Date,
        xact -> Int8,
    }
}

diesel::table! {
    opportunity_events (tenant_id, id) {
        tenant_id -> Int8,
        id -> Int8,
        opportunity_id -> Int8,
        actor_id -> Nullable<Int8>,
        action -> Text,
        from_stage_id -> Nullable<Int8>,
        to_stage_id -> Nullable<Int8>,
        from_status -> Nullable<Text>,
        to_status -> Nullable<Text>,
        changes -> Jsonb,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    opportunity_open (tenant_id, owner_id, visibility) {
        tenant_id -> Int8,
        owner_id -> Int8,
        visibility -> Text,
        open_count -> Int8,
        open_amount -> Int8,
    }
}

diesel::table! {
    opportunity_stage_daily (tenant_id, day, owner_id, visibility, stage_id) {
        tenant_id -> Int8,
        day -> Date,
        owner_id -> Int8,
        visibility -> Text,
        stage_id -> Int8,
        entered -> Int4,
        entered_amount -> Int8,
    }
}

diesel::table! {
    opportunity_stages (tenant_id, id) {
        tenant_id -> Int8,
        id -> Int8,
        name -> Text,
        probability -> Int2,
        position -> Int4,
        retired -> Bool,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    sales_targets (tenant_id, user_id, year, month) {
        tenant_id -> Int8,
        user_id -> Int8,
        year -> Int4,
        month -> Int4,
        amount -> Int8,
        assigned_by -> Nullable<Int8>,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    saved_filters (tenant_id, id) {
        tenant_id -> Int8,
        id -> Int8,
        owner_id -> Int8,
        name -> Text,
        shared -> Bool,
        query -> Text,
        created_at -> Timestamptz,
        list -> Text,
    }
}

diesel::table! {
    signup_requests (tenant_id, id) {
        tenant_id -> Int8,
        id -> Int8,
        token_hash -> Text,
        email -> Text,
        company -> Text,
        name -> Text,
        locale -> Text,
        expires_at -> Timestamptz,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    tags (tenant_id, id) {
        tenant_id -> Int8,
        id -> Int8,
        name -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    tenant_events (tenant_id, id) {
        tenant_id -> Int8,
        id -> Int8,
        actor_id -> Nullable<Int8>,
        action -> Text,
        import_id -> Nullable<Int8>,
        export_id -> Nullable<Int8>,
        entity -> Text,
        created_count -> Int8,
        updated_count -> Int8,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    tenants (id) {
        id -> Int8,
        name -> Text,
        time_zone -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    user_directory (email) {
        email -> Text,
        tenant_id -> Int8,
        user_id -> Int8,
    }
}

diesel::table! {
    users (tenant_id, id) {
        tenant_id -> Int8,
        id -> Int8,
        email -> Text,
        name -> Text,
        password_hash -> Nullable<Text>,
        role -> Text,
        reports_to -> Nullable<Int8>,
        status -> Text,
        failed_logins -> Int4,
        locked_at -> Nullable<Timestamptz>,
        session_epoch -> Int4,
        locale -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        time_zone -> Nullable<Text>,
        remind_before -> Array<Int4>,
        reminders_on -> Bool,
        digest_on -> Bool,
        calendar_feed_hash -> Nullable<Text>,
        first_sign_in_at -> Nullable<Timestamptz>,
        email_confirmed_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    task_categories (tenant_id, id) {
        tenant_id -> Int8,
        id -> Int8,
        name -> Text,
        position -> Int4,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    tasks (tenant_id, id) {
        tenant_id -> Int8,
        id -> Int8,
        kind -> Text,
        content -> Text,
        content_grams -> Array<Text>,
        starts_at -> Timestamptz,
        due_at -> Timestamptz,
        owner_id -> Int8,
        category_id -> Nullable<Int8>,
        visibility -> Text,
        company_id -> Nullable<Int8>,
        opportunity_id -> Nullable<Int8>,
        remind_before -> Array<Int4>,
        done_at -> Nullable<Timestamptz>,
        done_by -> Nullable<Int8>,
        created_by -> Int8,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        series_id -> Nullable<Int8>,
    }
}

diesel::table! {
    task_series (tenant_id, id) {
        tenant_id -> Int8,
        id -> Int8,
        rule -> Text,
        occurrences -> Int4,
        created_by -> Int8,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    task_digests (tenant_id, user_id, day) {
        tenant_id -> Int8,
        user_id -> Int8,
        day -> Date,
        email_id -> Nullable<Int8>,
        tasks -> Int4,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    task_reminders (tenant_id, id) {
        tenant_id -> Int8,
        id -> Int8,
        task_id -> Int8,
        remind_at -> Timestamptz,
        status -> Text,
        email_id -> Nullable<Int8>,
        reason -> Nullable<Text>,
        created_at -> Timestamptz,
        handled_at -> Nullable<Timestamptz>,
    }
}

diesel::joinable!(audit_log -> tenants (tenant_id));
diesel::joinable!(companies -> tenants (tenant_id));
diesel::joinable!(company_events -> tenants (tenant_id));
diesel::joinable!(company_tags -> tenants (tenant_id));
diesel::joinable!(contacts -> tenants (tenant_id));
diesel::joinable!(custom_fields -> tenants (tenant_id));
diesel::joinable!(customer_categories -> tenants (tenant_id));
diesel::joinable!(emails -> tenants (tenant_id));
diesel::joinable!(exports -> tenants (tenant_id));
diesel::joinable!(imports -> tenants (tenant_id));
diesel::joinable!(invitations -> tenants (tenant_id));
diesel::joinable!(list_columns -> tenants (tenant_id));
diesel::joinable!(lost_reasons -> tenants (tenant_id));
diesel::joinable!(note_attachments -> tenants (tenant_id));
diesel::joinable!(notes -> tenants (tenant_id));
diesel::joinable!(opportunities -> tenants (tenant_id));
diesel::joinable!(opportunity_categories -> tenants (tenant_id));
diesel::joinable!(opportunity_daily -> tenants (tenant_id));
diesel::joinable!(opportunity_open -> tenants (tenant_id));
diesel::joinable!(opportunity_dirty_days -> tenants (tenant_id));
diesel::joinable!(opportunity_events -> tenants (tenant_id));
diesel::joinable!(opportunity_stage_daily -> tenants (tenant_id));
diesel::joinable!(opportunity_stages -> tenants (tenant_id));
diesel::joinable!(sales_targets -> tenants (tenant_id));
diesel::joinable!(saved_filters -> tenants (tenant_id));
diesel::joinable!(tags -> tenants (tenant_id));
diesel::joinable!(task_categories -> tenants (tenant_id));
diesel::joinable!(task_digests -> tenants (tenant_id));
diesel::joinable!(task_reminders -> tenants (tenant_id));
diesel::joinable!(tasks -> tenants (tenant_id));
diesel::joinable!(tenant_events -> tenants (tenant_id));
diesel::joinable!(users -> tenants (tenant_id));

diesel::allow_tables_to_appear_in_same_query!(
    audit_log,
    companies,
    company_events,
    company_tags,
    contacts,
    custom_fields,
    customer_categories,
    emails,
    exports,
    import_chunks,
    import_errors,
    import_keys,
    import_undo,
    imports,
    invitations,
    list_columns,
    lost_reasons,
    note_attachments,
    notes,
    opportunities,
    opportunity_categories,
    opportunity_daily,
    opportunity_dirty_days,
    opportunity_events,
    opportunity_open,
    opportunity_stage_daily,
    opportunity_stages,
    sales_targets,
    saved_filters,
    signup_requests,
    tags,
    task_categories,
    task_digests,
    task_reminders,
    task_series,
    tasks,
    tenant_events,
    tenants,
    user_directory,
    users,
);
